/** How far a training job has got: pushed to the UI and the CLI after every step. */
export interface JobProgress {
  epoch: number;
  epochs: number;
  /** Step within the epoch, 1-based. */
  step: number;
  stepsPerEpoch: number;
  /** This step's loss per module (per cascade for HPFF). */
  losses: number[];
  imagesPerSecond: number;
  /** Seconds left at the current speed. */
  etaSeconds: number;
}
