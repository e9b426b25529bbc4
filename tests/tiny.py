"""Tiny models the recovery tests share: a d=4 generator (random weights), an ill-conditioned one, and a tiny
inverse-mapping network with its linear readout fitted to the tiny generator."""
import numpy as np

from models.resnet import resnet
from models.tf1_loader import export_generator, load_generator
from models.training import fit_linear_readout
from models.wavegan import init_generator_weights, random_z, synthesize
from recovery.recipe import Recipe

WAVEFORM = Recipe(recovery_loss='waveform')  # recovery with a loss that needs no classifier


def tiny_weights(seed=5):
    """d=4 WaveGAN weights with random biases, its clips peaking near 0.3 as trained WaveGANs' do (zero biases would
    make G(a z) = a^k G(z), so that a gain could not be told from a scale of z)."""
    weights = init_generator_weights(4, seed=seed)
    rng = np.random.default_rng(seed)
    for name in weights:
        if name.endswith('bias'):
            weights[name] = rng.normal(0, 0.01, weights[name].shape).astype(np.float32)
    weights['G/upconv_4/conv2d_transpose/kernel'] *= 10
    return weights


def tiny_generator(folder, seed=5):
    export_generator(tiny_weights(seed), str(folder))
    return load_generator(str(folder))


def ill_conditioned_generator(folder, decades=3):
    """A tiny generator whose singular values span `decades` decades, as in trained WaveGANs (zero biases: fit it
    with affine=False)."""
    weights = init_generator_weights(4, seed=5)
    weights['G/z_project/dense/kernel'] *= np.logspace(0, -decades, 100, dtype=np.float32)[:, None]
    export_generator(weights, str(folder))
    return load_generator(str(folder))


def tiny_generator_and_network(folder):
    """The tiny generator and a tiny inverse-mapping network with its linear readout fitted to it."""
    generator = tiny_generator(folder)
    network = resnet(100, widths=(4, 8), blocks=(1, 1), linear_readout=True)
    fit_linear_readout(network, generator, clips=1000)
    return generator, network


def clips_and_near_starts(generator, clips=3, seed=2):
    """`clips` z, their clips, and starts about 0.2 away from each z (inside [-1, 1])."""
    rng = np.random.default_rng(seed)
    z_true = random_z(clips, rng)
    z_start = np.clip(z_true + rng.normal(0, 0.2, z_true.shape), -1, 1).astype(np.float32)
    return z_true, synthesize(generator, z_true), z_start
