"""2026-11-29, issue 17: what one generator pass of each kind costs, per clip, for a checkpoint folder.

Forward pass (one clip alone and batched), forward + backward (what an L-BFGS iteration costs), and the
100-column Jacobian both ways: from the linearization of WaveGAN's layers (what recovery uses for a plain
WaveGAN) and by forward-mode differentiation of the graph (any other graph). With `official` it first
completes the official SC09 MetaGraph with WaveGAN-initialised weights in FOLDER.

    python docs/experiments/2026-11-29_generator_passes.py checkpoint
    python docs/experiments/2026-11-29_generator_passes.py /tmp/official_d64 official
"""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402 (the imports below need the path above)
import tensorflow as tf
from models.tf1_loader import Generator, complete_metagraph, load_generator
from models.wavegan import init_generator_weights


def seconds_per_clip(fn, z, clips, repeats=2):
    fn(z[:clips])  # trace first
    started = time.perf_counter()
    for _ in range(repeats):
        fn(z[:clips])
    return (time.perf_counter() - started) / repeats / clips


def forward_backward(G, latents):
    latents = tf.Variable(latents)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(G(latents) ** 2)
    return tape.gradient(loss, latents)


def main(folder, official):
    if official and not os.path.exists(os.path.join(folder, 'model.ckpt.index')):
        complete_metagraph(os.path.join(ROOT, 'tests', 'data', 'wavegan_sc09_official', 'infer.meta'), folder,
                           init_generator_weights(64, seed=0))
    G = load_generator(folder)
    z = np.random.default_rng(0).uniform(-1, 1, (8, 100)).astype(np.float32)
    print(f'forward: {seconds_per_clip(G, z, 1):.4f} s for one clip, {seconds_per_clip(G, z, 8):.4f} s/clip batched by 8')
    print(f'forward + backward: {seconds_per_clip(lambda latents: forward_backward(G, latents), z, 8):.4f} s/clip batched by 8')
    print(f'Jacobian, linearized layers: {seconds_per_clip(G.jacobian, z, G.clips_per_jacobian, 1):.3f} s/clip')
    by_ad = Generator(G.graph_function, None)
    by_ad.clips_per_jacobian = 1
    print(f'Jacobian, forward-mode differentiation: {seconds_per_clip(by_ad.jacobian, z, 1, 1):.3f} s/clip')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:] == ['official'])
