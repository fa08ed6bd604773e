/**
 * The talking-head editor: the face, the speech, the sliders (emotion mix, intensity, pose, seed),
 * the pose keyframes and the playhead, with undo/redo over all of them; the live preview
 * (coalesced: one request in flight, always the latest settings), clips generated as jobs with
 * their progress, and saved editor projects.
 */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef, type Ref } from 'vue';
import type { JobProgress } from '../../../shared/api/progress';
import type { Run } from '../../../shared/api/schemas';
import { type EditorClip, type HeadMotion, type EditorFace, type EditorProject, type EditorSpeech, type EditorState, type PreviewFrameResult } from '../../../shared/speak/editor';
import { emotionAt, poseAt, type HeadPoseDegrees, type SpeakEmotion } from '../../../shared/speak/performance';
import { SPEAK_EMOTIONS } from '../../../shared/speak/settings';
import { studioApi } from '../api/studio';
import { History } from '../talking-head/history';
import { type EditorKey, moveKey, placeKey, removeKey, setKey, type Timed, toggleEase } from '../talking-head/keyframes';
import { LatestOnly } from '../talking-head/preview-queue';
import { mediaUrl } from '../talking-head/zip';

/** Blinks a minute a new editor starts with: a person at rest blinks about 15 to 20 times a minute. */
const DEFAULT_BLINKS = 15;

/** What undo/redo and projects keep: everything the user directs. */
interface EditorDocument {
  identityId: string | null;
  speechId: string | null;
  weights: Record<SpeakEmotion, number>;
  intensity: number;
  pose: HeadPoseDegrees;
  seed: number;
  /** Blinks a minute (painted: the model has no blink input). */
  blinks: number;
  /** How the head follows the pose: the model's own motion, or turned by geometry. */
  motion: HeadMotion;
  keys: EditorKey[];
  emotionKeys: EmotionDocKey[];
}

/** An emotion key as the editor keeps it: every weight, the intensity, the easing. */
export interface EmotionDocKey {
  t: number;
  weights: Record<SpeakEmotion, number>;
  intensity: number;
  ease: boolean;
}

const noWeights = () => Object.fromEntries(SPEAK_EMOTIONS.map((e) => [e, 0])) as Record<SpeakEmotion, number>;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export interface PreviewShown extends PreviewFrameResult {
  /** Renderer to host and back, ms. */
  roundTripMs: number;
}

export const useTalkingHeadStore = defineStore('talking-head', () => {
  const model = ref<string | undefined>(undefined);
  const models = ref<{ path: string; label: string; size: number; runId: number | null }[]>([]);
  const size = ref(64);
  const poseRange = ref<HeadPoseDegrees>({ yaw: 30, pitch: 15, roll: 10 });
  const faces = ref<EditorFace[]>([]);
  const facesLoading = ref(false);
  const facePhoto = ref<string | null>(null);
  const speechInfo = ref<EditorSpeech | null>(null);
  const speechAudio = ref<string | null>(null);
  const busy = ref<string | null>(null);
  const error = ref<string | null>(null);
  const doc = reactive<EditorDocument>({ identityId: null, speechId: null, weights: noWeights(), intensity: 0.8, pose: { yaw: 0, pitch: 0, roll: 0 }, seed: 0, blinks: DEFAULT_BLINKS, motion: 'posed', keys: [], emotionKeys: [] });
  const selectedEmotionKey = ref<number | null>(null);
  const time = ref(0);
  const selectedKey = ref<number | null>(null);
  const preview = shallowRef<PreviewShown | null>(null);
  const previewError = ref<string | null>(null);
  const previewCount = ref(0);
  const clips = ref<EditorClip[]>([]);
  const generating = ref<{ runId: number; progress: JobProgress | null } | null>(null);
  const projects = ref<EditorProject[]>([]);
  const projectId = ref<number | null>(null);
  const projectName = ref('');
  const history = new History<EditorDocument>();
  const historyVersion = ref(0); // makes canUndo/canRedo reactive

  const face = computed(() => faces.value.find((f) => f.id === doc.identityId) ?? null);
  const duration = computed(() => speechInfo.value?.seconds ?? 0);
  const canUndo = computed(() => historyVersion.value >= 0 && history.canUndo);
  const canRedo = computed(() => historyVersion.value >= 0 && history.canRedo);
  const mixLabel = computed(() => {
    const total = SPEAK_EMOTIONS.reduce((s, e) => s + doc.weights[e], 0);
    if (total === 0) return 'neutral (every weight at 0)';
    return SPEAK_EMOTIONS.filter((e) => doc.weights[e] > 0)
      .map((e) => `${e} ${Math.round((doc.weights[e] / total) * 100)}%`)
      .join(', ');
  });

  const snapshot = (): EditorDocument => JSON.parse(JSON.stringify(doc)) as EditorDocument;
  function restore(value: EditorDocument) {
    Object.assign(doc, value);
    selectedKey.value = null;
    selectedEmotionKey.value = null;
    historyVersion.value++;
    void loadSpeech(doc.speechId);
    refresh();
  }
  function change(tag: string, apply: () => void) {
    history.record(snapshot(), tag);
    historyVersion.value++;
    apply();
    refresh();
  }

  const queue = new LatestOnly<Parameters<typeof previewSettings>[0], PreviewFrameResult>(
    (settings) => studioApi.call('speak:preview', previewSettings(settings)),
    (result, _settings, roundTripMs) => {
      preview.value = { ...result, roundTripMs };
      previewError.value = null;
      previewCount.value++;
    },
    (e) => (previewError.value = message(e)),
  );
  function previewSettings(input: { identityId: string; speechId: string | null; time: number; weights: Record<SpeakEmotion, number>; intensity: number; pose: HeadPoseDegrees; seed: number; blinks: number; motion: HeadMotion }) {
    return { ...(model.value ? { model: model.value } : {}), identityId: input.identityId, speechId: input.speechId, time: input.time, emotion: { weights: { ...input.weights }, intensity: input.intensity }, pose: { ...input.pose }, seed: input.seed, blinks: input.blinks, motion: input.motion };
  }
  /** Ask for the frame the editor now shows (coalesced while sliders move). */
  function refresh() {
    if (!doc.identityId) return;
    queue.request({ identityId: doc.identityId, speechId: doc.speechId, time: time.value, weights: { ...doc.weights }, intensity: doc.intensity, pose: { ...doc.pose }, seed: doc.seed, blinks: doc.blinks, motion: doc.motion });
  }

  async function run<T>(label: string, work: () => Promise<T>): Promise<T | undefined> {
    busy.value = label;
    error.value = null;
    try {
      return await work();
    } catch (e) {
      error.value = message(e);
      return undefined;
    } finally {
      busy.value = null;
    }
  }

  async function load() {
    facesLoading.value = true;
    await run('Finding the faces…', async () => {
      const result = await studioApi.call('speak:faces', model.value ? { model: model.value } : {});
      faces.value = result.faces;
      size.value = result.size;
      poseRange.value = result.poseRange;
      if (!doc.identityId && result.faces.length) await selectFace(result.faces[0]!.id, false);
    });
    facesLoading.value = false;
    await Promise.all([loadClips(), loadProjects(), loadModels()]);
  }

  async function loadModels() {
    models.value = await studioApi.call('speak:models', {}).catch(() => models.value);
  }

  /** Another model: its faces (cropped at its size); the face stays if the new model has it. */
  async function setModel(path: string) {
    const shipped = models.value.find((m) => m.runId === null)?.path;
    model.value = path === shipped ? undefined : path;
    preview.value = null;
    const keep = doc.identityId;
    doc.identityId = null;
    await load();
    if (keep && faces.value.some((f) => f.id === keep)) await selectFace(keep, false);
  }

  async function selectFace(id: string, record = true) {
    if (record) history.record(snapshot(), 'face');
    historyVersion.value++;
    doc.identityId = id;
    facePhoto.value = null;
    refresh();
    const photo = await studioApi.call('speak:facePhoto', { id }).catch(() => ({ photoUrl: null }));
    if (doc.identityId === id) facePhoto.value = photo.photoUrl;
  }

  async function uploadFace(file: File) {
    const photo = await run(`Finding the face in ${file.name}…`, async () => {
      const data = await shrunkPhoto(file);
      return studioApi.call('speak:uploadFace', { ...(model.value ? { model: model.value } : {}), name: file.name, data });
    });
    if (!photo) return;
    faces.value = [...faces.value, photo];
    await selectFace(photo.id);
  }

  async function loadSpeech(id: string | null) {
    if (!id) {
      speechInfo.value = null;
      setAudio(null);
      return;
    }
    if (speechInfo.value?.id === id) return;
    const audio = await studioApi.call('speak:speechAudio', { id }).catch((e: unknown) => {
      error.value = message(e);
      return null;
    });
    if (audio && doc.speechId === id) {
      speechInfo.value = audio.speech;
      setAudio(audio.dataUrl);
    }
  }

  /** The speech for <audio>: a blob: URL (the previous one freed). */
  function setAudio(dataUrl: string | null) {
    if (speechAudio.value) URL.revokeObjectURL(speechAudio.value);
    speechAudio.value = dataUrl && mediaUrl(dataUrl);
  }

  function useSpeech(speech: EditorSpeech, dataUrl: string | null) {
    history.record(snapshot(), 'speech');
    historyVersion.value++;
    speechInfo.value = speech;
    setAudio(dataUrl);
    doc.speechId = speech.id;
    // Keys past the new end would never be reached.
    doc.keys = doc.keys.filter((k) => k.t <= speech.seconds);
    doc.emotionKeys = doc.emotionKeys.filter((k) => k.t <= speech.seconds);
    time.value = Math.min(time.value, speech.seconds);
    refresh();
  }

  async function speakText(text: string) {
    const speech = await run('Speaking the sentence…', () => studioApi.call('speak:speech', { source: 'text', text }));
    if (!speech) return;
    const audio = await studioApi.call('speak:speechAudio', { id: speech.id });
    useSpeech(speech, audio.dataUrl);
  }

  async function uploadSpeech(file: File) {
    const speech = await run(`Reading ${file.name}…`, async () => studioApi.call('speak:speech', { source: 'file', name: file.name, data: await base64(file) }));
    if (!speech) return;
    const audio = await studioApi.call('speak:speechAudio', { id: speech.id });
    useSpeech(speech, audio.dataUrl);
  }

  const setWeight = (emotion: SpeakEmotion, value: number) => change(`weight:${emotion}`, () => (doc.weights[emotion] = value));
  const setIntensity = (value: number) => change('intensity', () => (doc.intensity = value));
  const setPose = (axis: keyof HeadPoseDegrees, value: number) => change(`pose:${axis}`, () => (doc.pose[axis] = value));
  const setSeed = (value: number) => change('seed', () => (doc.seed = value));
  const setBlinks = (value: number) => change('blinks', () => (doc.blinks = value));
  const setMotion = (value: HeadMotion) => change('motion', () => (doc.motion = value));

  /** Move the playhead; with keyframes the sliders follow the pose curve there. */
  function seek(t: number) {
    time.value = Math.min(Math.max(0, t), duration.value);
    if (doc.keys.length) Object.assign(doc.pose, roundPose(poseAt(doc.keys, time.value)));
    if (doc.emotionKeys.length) {
      const mix = emotionAt(doc.emotionKeys, time.value);
      for (const e of SPEAK_EMOTIONS) doc.weights[e] = Math.round((mix.weights[e] ?? 0) * 100) / 100;
      doc.intensity = Math.round(mix.intensity * 100) / 100;
    }
    refresh();
  }

  function addKey() {
    change('key:add', () => {
      const { keys, index } = setKey(doc.keys, time.value, doc.pose);
      doc.keys = keys;
      selectedKey.value = index;
    });
  }
  function addEmotionKey() {
    change('emotion-key:add', () => {
      const { keys, index } = placeKey<EmotionDocKey>(doc.emotionKeys, { t: time.value, weights: { ...doc.weights }, intensity: doc.intensity });
      doc.emotionKeys = keys;
      selectedEmotionKey.value = index;
    });
  }
  /** Drag, delete and ease on one lane of keys (pose or emotion): the same edits on its own keys and selection. */
  function laneEdits<K extends Timed>(name: string, keys: { get(): K[]; set(keys: K[]): void }, selected: Ref<number | null>) {
    return {
      drag: (index: number, t: number) =>
        change(`${name}:move:${index}`, () => {
          const moved = moveKey(keys.get(), index, t, duration.value);
          keys.set(moved.keys);
          selected.value = moved.index;
        }),
      remove: (index: number) =>
        change(`${name}:delete`, () => {
          keys.set(removeKey(keys.get(), index));
          selected.value = null;
        }),
      ease: (index: number) => change(`${name}:ease`, () => keys.set(toggleEase(keys.get(), index))),
    };
  }
  const poseLane = laneEdits('key', { get: () => doc.keys, set: (keys) => (doc.keys = keys) }, selectedKey);
  const emotionLane = laneEdits('emotion-key', { get: () => doc.emotionKeys, set: (keys) => (doc.emotionKeys = keys) }, selectedEmotionKey);
  const [dragKey, deleteKey, easeKey] = [poseLane.drag, poseLane.remove, poseLane.ease];
  const [dragEmotionKey, deleteEmotionKey, easeEmotionKey] = [emotionLane.drag, emotionLane.remove, emotionLane.ease];

  const undo = () => {
    const previous = history.undo(snapshot());
    if (previous) restore(previous);
  };
  const redo = () => {
    const next = history.redo(snapshot());
    if (next) restore(next);
  };

  /** The pose the clip follows: the keyframes, or the sliders' pose held throughout. */
  const posePlan = () => (doc.keys.length ? doc.keys.map((k) => ({ ...k })) : [{ t: 0, ...doc.pose, ease: true }]);

  async function generate() {
    if (!doc.identityId || !doc.speechId) return;
    const settings = { ...(model.value ? { model: model.value } : {}), identityId: doc.identityId, speechId: doc.speechId, emotion: { weights: { ...doc.weights }, intensity: doc.intensity }, pose: posePlan(), emotionKeys: doc.emotionKeys.map((k) => ({ ...k, weights: { ...k.weights } })), seed: doc.seed, blinks: doc.blinks, motion: doc.motion };
    const started = await run('Queueing the clip…', () => studioApi.call('speak:generate', { settings }));
    if (started) {
      generating.value = { runId: started.id, progress: null };
      await loadClips();
    }
  }
  async function cancel() {
    if (generating.value) await run('Cancelling…', () => studioApi.call('runs:cancel', { id: generating.value!.runId }));
  }
  async function loadClips() {
    clips.value = await studioApi.call('speak:clips', {}).catch(() => clips.value);
    const current = generating.value && clips.value.find((c) => c.runId === generating.value!.runId);
    if (current && !['queued', 'running'].includes(current.status)) generating.value = null;
  }

  async function loadProjects() {
    projects.value = await studioApi.call('speak:projects', {}).catch(() => projects.value);
  }
  function state(): EditorState {
    return { model: model.value ?? 'shipped', identityId: doc.identityId, speechId: doc.speechId, emotion: { weights: { ...doc.weights }, intensity: doc.intensity }, pose: { ...doc.pose }, keys: doc.keys.map((k) => ({ ...k })), emotionKeys: doc.emotionKeys.map((k) => ({ ...k, weights: { ...k.weights } })), seed: doc.seed, blinks: doc.blinks, motion: doc.motion };
  }
  async function saveProject(name: string, asNew = false) {
    const saved = await run('Saving the project…', () => studioApi.call('speak:saveProject', { ...(projectId.value && !asNew ? { id: projectId.value } : {}), name, state: state() }));
    if (!saved) return;
    projectId.value = saved.id;
    projectName.value = saved.name;
    await loadProjects();
  }
  async function openProject(id: number) {
    const project = await run('Opening the project…', () => studioApi.call('speak:openProject', { id }));
    if (!project) return;
    const s = project.state;
    const nextModel = s.model === 'shipped' ? undefined : s.model;
    if (nextModel !== model.value) {
      model.value = nextModel;
      await load(); // that model's faces
    }
    projectId.value = project.id;
    projectName.value = project.name;
    history.clear();
    Object.assign(doc, { identityId: s.identityId, speechId: s.speechId, weights: { ...noWeights(), ...s.emotion.weights }, intensity: s.emotion.intensity, pose: { ...s.pose }, seed: s.seed, blinks: s.blinks, motion: s.motion, keys: s.keys.map((k) => ({ ...k, ease: k.ease })), emotionKeys: s.emotionKeys.map((k) => ({ t: k.t, ease: k.ease, intensity: k.intensity, weights: { ...noWeights(), ...k.weights } })) });
    historyVersion.value++;
    speechInfo.value = null;
    await loadSpeech(s.speechId);
    if (s.identityId) await selectFace(s.identityId, false);
  }

  function listen() {
    return studioApi.subscribe((event) => {
      if (event.name === 'runs:progress' && generating.value?.runId === event.payload.runId) generating.value = { runId: event.payload.runId, progress: event.payload.progress };
      else if (event.name === 'runs:changed' && clips.value.some((c) => c.runId === event.payload.runId)) void loadClips();
      else if (event.name === 'runs:changed' && generating.value?.runId === event.payload.runId) void loadClips();
    });
  }

  return {
    model, models, size, poseRange, faces, facesLoading, face, facePhoto, speechInfo, speechAudio, busy, error, doc, time, duration, selectedKey, selectedEmotionKey,
    preview, previewError, previewCount, clips, generating, projects, projectId, projectName, canUndo, canRedo, mixLabel,
    load, setModel, selectFace, uploadFace, speakText, uploadSpeech, setWeight, setIntensity, setPose, setSeed, setBlinks, setMotion, seek, addKey, dragKey, deleteKey, easeKey, addEmotionKey, dragEmotionKey, deleteEmotionKey, easeEmotionKey,
    undo, redo, generate, cancel, loadClips, loadProjects, saveProject, openProject, listen, refresh,
  };
});

const roundPose = (p: HeadPoseDegrees): HeadPoseDegrees => ({ yaw: Math.round(p.yaw * 10) / 10, pitch: Math.round(p.pitch * 10) / 10, roll: Math.round(p.roll * 10) / 10 });

async function base64(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Photos are sent at most 1024 px on a side (JPEG): the face finder needs no more, and the host takes 700 KB. */
async function shrunkPhoto(file: File): Promise<string> {
  const bitmap = await createImageBitmap(file).catch(() => null);
  if (!bitmap) return base64(file); // not an image the browser decodes: the host says what is wrong with it
  const scale = Math.min(1, 1024 / Math.max(bitmap.width, bitmap.height));
  if (scale === 1 && file.size <= 600 * 1024) return base64(file);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
  return base64(blob ?? file);
}

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useTalkingHeadStore, import.meta.hot));
export type { Run };
