"""PyTorch peer of bench/speed/wasm-vs-torch.ts: times the same ResNet-8 training step.

The net mirrors main/engine/nets/resnet-model.ts layer for layer (NCHW here): a 3x3 conv stem
(16 channels) + BN + ReLU, three stages of one BasicBlock (16, 32, 64 channels; stride 2 at the
start of stages 2 and 3, with a 1x1 conv + BN projection shortcut when the shape changes),
global average pooling and a linear classifier. One step is forward, cross-entropy, backward
and torch.optim.SGD(momentum 0.9, nesterov, weight decay 1e-4).

    /usr/bin/python3 bench/speed/torch_step.py --height 28 --width 28 --channels 1 --batch 64 --threads 1

Prints one JSON object: {"imagesPerSecond": ... (best step), "medianImagesPerSecond": ..., "msPerStep": ..., "steps": ..., ...}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

STEM_WIDTH = 16
STAGE_WIDTHS = (16, 32, 64)


class BasicBlock(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.project = None
        if stride != 1 or cin != width:
            self.project = nn.Sequential(nn.Conv2d(cin, width, 1, stride, 0, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        skip = x if self.project is None else self.project(x)
        return F.relu(h + skip)


class ResNet(nn.Module):
    def __init__(self, in_channels, classes, blocks_per_stage=1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, STEM_WIDTH, 3, 1, 1, bias=False), nn.BatchNorm2d(STEM_WIDTH), nn.ReLU())
        layers = []
        cin = STEM_WIDTH
        for stage, width in enumerate(STAGE_WIDTHS):
            for block in range(blocks_per_stage):
                stride = 2 if block == 0 and stage > 0 else 1
                layers.append(BasicBlock(cin, width, stride))
                cin = width
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        h = self.blocks(self.stem(x))
        return self.fc(h.mean(dim=(2, 3)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--height', type=int, default=28)
    parser.add_argument('--width', type=int, default=28)
    parser.add_argument('--channels', type=int, default=1)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--classes', type=int, default=10)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--depth', type=int, default=8, help='ResNet depth 6n + 2 (8, 20, 32, ...)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--min-steps', type=int, default=20)
    parser.add_argument('--budget-ms', type=float, default=3000)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if (args.depth - 2) % 6 != 0 or args.depth < 8:
        raise SystemExit(f'--depth must be 6n + 2 (8, 20, 32, ...), got {args.depth}')
    device = torch.device(args.device)
    model = ResNet(args.channels, args.classes, (args.depth - 2) // 6).train().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    x = torch.randn(args.batch, args.channels, args.height, args.width, device=device)
    y = torch.randint(0, args.classes, (args.batch,), device=device)
    # A GPU step is timed once it has finished, not when it was queued.
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sync()
        return loss

    for _ in range(args.warmup):
        step()
    # Each step timed on its own: the best one is what this machine does without other load
    # (the 2 cores are shared), the median what it did during this run.
    times = []
    start = time.perf_counter()
    while len(times) < args.min_steps or (time.perf_counter() - start) * 1000 < args.budget_ms:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    best, median = times[0], times[len(times) // 2]
    print(json.dumps({
        'imagesPerSecond': args.batch * 1000 / best,
        'medianImagesPerSecond': args.batch * 1000 / median,
        'msPerStep': best,
        'steps': len(times),
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'device': str(device),
        'depth': args.depth,
    }))


if __name__ == '__main__':
    main()
