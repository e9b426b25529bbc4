"""Recovery's start: the inverse-mapping network's z, refined through the network's linear readout, at the clip's
level."""
import numpy as np

from models.resnet import predict
from models.wavegan import synthesize
from recovery.gauss_newton import masked_snr, misfit
from recovery.profile import Profile
from utils.audio import unit_shape

LEAST_GAIN = 1e-6  # a fitted gain under this says nothing of a clip's level


def predict_z(network, audio):
    """The inverse-mapping network's z for each clip [N, 16384] -> [N, 100] (one batch, run eagerly)."""
    return predict(network, audio, batch_size=max(len(audio), 1)).astype(np.float32)


def has_readout(network):
    return 'linear_readout' in [layer.name for layer in network.layers]


def refine_with_readout(network, generator, audio, z, steps, bounded=True, profile=None, mask=None):
    """`steps` fixed-point steps z <- z + K (x - G(z)), K the network's linear readout: a global
    least-squares inverse of G applied to what G(z) still misses (a generator call a step, no gradients).

    The readout reads the clip at G's own level and DC offset: a clip 1% louder, or a few thousandths off
    centre, is read far worse (see leveled_start). A clip whose waveform error ends higher than it started
    keeps its first z, so that real speech, for which the linear step is no guide, is never fitted worse. A
    network without a linear readout returns z unchanged (a copy, as always). Where `mask` is 0, G(z)'s
    samples are not compared.
    """
    if not steps or not has_readout(network):
        return z.copy()
    mask = np.ones_like(audio) if mask is None else mask
    kernel = network.get_layer('linear_readout').get_weights()[0]
    return fixed_point_steps(kernel, generator, audio, z, steps, lambda clips: clips * mask, bounded, profile)


def fixed_point_steps(kernel, generator, audio, z, steps, heard, bounded, profile):
    """`steps` steps z <- z + K (heard(x) - heard(G(z))); a clip whose error ends higher than it started keeps z."""
    target, refined = heard(audio), z.copy()
    residual = target - heard(synthesize(generator, refined, profile=profile))
    first_error = np.sum(residual ** 2, axis=1)
    for _ in range(steps):
        refined = refined + residual @ kernel
        if bounded:
            refined = np.clip(refined, -1, 1)
        residual = target - heard(synthesize(generator, refined, profile=profile))
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


def refine_shape(level_free, generator, clips, z, steps, bounded=True, profile=None, mask=None):
    """refine_with_readout by the level-free readout (models.training.fit_level_free_readout, its (kernel, bias)):
    z <- z + K (unit_shape(x) - unit_shape(G(z))), whose fixed point G(z) = gain * x + offset holds whatever the
    clip's gain and offset. A clip whose shape's error ends higher than it started keeps its first z."""
    mask = np.ones_like(clips) if mask is None else mask
    return fixed_point_steps(level_free[0], generator, clips, z, steps, lambda audio: unit_shape(audio, mask),
                             bounded, profile)


def leveled_start(network, level_free, generator, clips, refine_steps, fit, *, settled_snr, profile=None, mask=None):
    """network_start for clips [N, 16384] that may be louder or quieter than G makes them, or off centre: (start,
    refined z, the refined z's SNR in dB with its best gain and offset).

    The network's readout needs the clip at G's level to a percent, which nothing in a clip tells (G's own clips
    peak anywhere from 0.1 to 1). So each clip is first read as it is (most files keep G's level); where that
    refined z fits under settled_snr dB, the level-free readout `level_free` (None: none) reads the clip's shape
    and refines its z (refine_shape), the gain and offset of that fit bring the clip to G's level, and the
    network's readout refines again there; the clip keeps the best of these fits. Without fit.affine, clips are
    read as they are.
    """
    profile = profile or Profile()
    mask = np.ones_like(clips) if mask is None else mask
    start, refined = network_start(network, generator, clips, refine_steps, fit.bounded_z, profile, mask=mask)
    with profile.stage('readout refinement'):
        snr = masked_snr(generator, clips, refined, mask, fit.affine, profile)
    off = np.flatnonzero(snr < settled_snr) if fit.affine and level_free is not None else np.zeros(0, int)
    if not len(off):
        return start, refined, snr
    with profile.stage('readout refinement'):
        first = unit_shape(clips[off], mask[off]) @ level_free[0] + level_free[1]
        first = (np.clip(first, -1, 1) if fit.bounded_z else first).astype(np.float32)
        shaped = refine_shape(level_free, generator, clips[off], first, refine_steps, fit.bounded_z, profile, mask[off])
        _, gain, offset = misfit(synthesize(generator, shaped, profile=profile), clips[off], mask[off], True)
        at_g_level = (clips[off] - offset[:, None]) / np.where(gain > LEAST_GAIN, gain, 1.0)[:, None] * mask[off]
        leveled = refine_with_readout(network, generator, at_g_level, shaped, refine_steps, fit.bounded_z, profile,
                                      mask=mask[off])
        for other in (shaped, leveled):
            other_snr = masked_snr(generator, clips[off], other, mask[off], True, profile)
            better = other_snr > snr[off]
            refined[off[better]], snr[off[better]] = other[better], other_snr[better]
    return start, refined, snr
