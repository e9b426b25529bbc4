"""Recovery's start: the inverse-mapping network's z, refined through the network's linear readout."""
import numpy as np

from models.resnet import predict
from models.wavegan import synthesize
from recovery.profile import Profile


def predict_z(network, audio):
    """The inverse-mapping network's z for each clip [N, 16384] -> [N, 100] (one batch, run eagerly)."""
    return predict(network, audio, batch_size=max(len(audio), 1)).astype(np.float32)


def has_readout(network):
    return 'linear_readout' in [layer.name for layer in network.layers]


def refine_with_readout(network, generator, audio, z, steps, bounded=True, profile=None, mask=None):
    """`steps` fixed-point steps z <- z + K (x - G(z)), K the network's linear readout: a global
    least-squares inverse of G applied to what G(z) still misses (a generator call a step, no gradients).

    A clip whose waveform error ends higher than it started keeps its first z, so that real speech,
    for which the linear step is no guide, is never fitted worse. A network without a linear readout
    returns z unchanged (a copy, as always). Where `mask` is 0, G(z)'s samples are not compared.
    """
    if not steps or not has_readout(network):
        return z.copy()
    kernel = network.get_layer('linear_readout').get_weights()[0]
    refined = z.copy()
    mask = np.ones_like(audio) if mask is None else mask
    residual = (audio - synthesize(generator, refined, profile=profile)) * mask
    first_error = np.sum(residual ** 2, axis=1)
    for _ in range(steps):
        refined = refined + residual @ kernel
        if bounded:
            refined = np.clip(refined, -1, 1)
        residual = (audio - synthesize(generator, refined, profile=profile)) * mask
    worse = np.sum(residual ** 2, axis=1) > first_error
    refined[worse] = z[worse]
    return refined.astype(np.float32)


def network_start(network, generator, clips, refine_steps, bounded=True, profile=None, mask=None):
    """The network's z of each clip (inside the prior when recovery is bounded, as projecting onto it never
    moves z away from a true z), and that z refined through the network's readout (see refine_with_readout)."""
    profile = profile or Profile()
    with profile.stage('network'):
        start = predict_z(network, clips)
    if bounded:
        start = np.clip(start, -1, 1)
    with profile.stage('readout refinement'):
        refined = refine_with_readout(network, generator, clips, start, refine_steps, bounded, profile, mask=mask)
    return start, refined
