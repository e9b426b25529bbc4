"""Recovery's start (recovery/network_start.py): the network's z refined through its linear readout, and read at
the clip's level by the level-free readout."""
import os

import numpy as np

from conftest import ROOT, shipped_generator
from models.resnet import load_inverse_mapping, resnet
from models.training import fit_linear_readout, load_level_free_readout
from models.wavegan import random_z, synthesize
from recovery.gauss_newton import Fit
from recovery.losses import waveform_sse
from recovery.network_start import leveled_start, predict_z, refine_with_readout
from recovery.recover import Models, recover
from tiny import WAVEFORM, tiny_generator, tiny_generator_and_network
from utils import metrics
from utils.perturb import low_pass


def test_a_readout_fitted_on_degraded_clips_reads_low_passed_clips_better(tmp_path):
    """Fitted with degrade_share=1, the tiny generator's linear readout recovers z from its clips low-passed at 3 kHz
    (as codecs and resampling leave them) with less than two thirds of the error of a readout fitted on clean clips.
    Break: models/training.py: `audio = degrade(synthesize(generator, z), rng, share=degrade_share)` -> `audio = synthesize(generator, z)`
    """
    generator = tiny_generator(tmp_path)
    z = random_z(200, np.random.default_rng(9))
    heard = low_pass(synthesize(generator, z), np.full(200, 3000.0))
    errors = []
    for share in (0.0, 1.0):
        network = resnet(100, widths=(4, 8), blocks=(1, 1), linear_readout=True)
        fit_linear_readout(network, generator, clips=1000, degrade_share=share)
        kernel, bias = network.get_layer('linear_readout').get_weights()
        errors.append(np.median(metrics.latent_mse(z, heard @ kernel + bias)))
    assert errors[1] < 2 / 3 * errors[0]


def test_readout_refinement_lowers_the_network_latent_error(tmp_path):
    """From recovery's own start (the network's z, clipped to [-1, 1]), four steps through the linear readout at
    least halve the median latent error of synthesized clips; 'network' recovery returns exactly that; no clip G
    cannot make is fitted worse than from its start; a network without a readout keeps its z.
    Break: recovery/network_start.py: `refined = refined + residual @ kernel` -> `refined = refined + 0 * residual @ kernel`
    Break: recovery/network_start.py: `refined[worse] = z[worse]` -> `refined[worse] = refined[worse]`
    Break: recovery/network_start.py: `refined = refine_with_readout(network, generator, clips, start, refine_steps, bounded, profile, mask=mask)` -> `refined = refine_with_readout(network, generator, clips, start, 0, bounded, profile, mask=mask)`
    """
    generator, network = tiny_generator_and_network(tmp_path)
    z_true = random_z(16, np.random.default_rng(3))
    audio = synthesize(generator, z_true)
    start = np.clip(predict_z(network, audio), -1, 1)
    refined = refine_with_readout(network, generator, audio, start, steps=4)
    assert np.median(metrics.latent_mse(z_true, refined)) < 0.5 * np.median(metrics.latent_mse(z_true, start))
    unmoved = WAVEFORM.replace(refine_steps=4, find_shift=False, level=False)
    np.testing.assert_array_equal(recover(audio, 'network', Models(generator, network), unmoved, batch_size=16).z,
                                  refined)
    noise = (np.random.default_rng(4).normal(size=(8, 16384)) * 0.1).astype(np.float32)  # clips G cannot make
    noise_start = np.clip(predict_z(network, noise), -1, 1)
    noise_refined = refine_with_readout(network, generator, noise, noise_start, steps=4)
    before, after = (waveform_sse(noise, synthesize(generator, z)).numpy() for z in (noise_start, noise_refined))
    assert np.all(after <= before)
    plain = Models(generator, resnet(100, widths=(4, 8), blocks=(1, 1)))
    np.testing.assert_array_equal(recover(audio, 'network', plain, WAVEFORM.replace(refine_steps=4)).z,
                                  recover(audio, 'network', plain, WAVEFORM.replace(refine_steps=0)).z)


def test_a_quiet_or_off_centre_clip_starts_as_near_its_z_as_the_clip_at_gs_level():
    """The shipped network's readout needs a clip at G's level; read at 0.1 of it, or at half with a 0.01 DC
    offset, the shipped generator's clips start far from their z. leveled_start reads their shape with the
    level-free readout and brings them to G's level first: their starts then fit them within 3 dB of the
    starts of the clips as G made them (median of twelve: 24.8 and 25.0 dB against 26.5; read as they are,
    0.0 and 1.5).
    Break: recovery/network_start.py: `first = unit_shape(clips[off], mask[off]) @ level_free[0] + level_free[1]` -> `first = clips[off] @ level_free[0] + level_free[1]`
    Break: recovery/network_start.py: `at_g_level = (clips[off] - offset[:, None]) / np.where(gain > LEAST_GAIN, gain, 1.0)[:, None] * mask[off]` -> `at_g_level = clips[off]`
    """
    generator = shipped_generator()
    inverse_path = os.path.join(ROOT, 'inverse_mapping_checkpoint', 'inverse_mapping.keras')
    network, level_free = load_inverse_mapping(inverse_path), load_level_free_readout(inverse_path)
    clips = synthesize(generator, random_z(12, np.random.default_rng(21)))
    fit = Fit()
    snr = {}
    for name, gain, offset in (('as made', 1.0, 0.0), ('quiet', 0.1, 0.0), ('off centre', 0.5, 0.01)):
        heard = (gain * clips + offset).astype(np.float32)
        snr[name] = leveled_start(network, level_free, generator, heard, 32, fit, settled_snr=30)[2]
    as_is = leveled_start(network, None, generator, (0.1 * clips).astype(np.float32), 32, fit, settled_snr=30)[2]
    assert np.median(as_is) < np.median(snr['as made']) - 10  # the network's readout alone is lost at 0.1
    for name in ('quiet', 'off centre'):
        assert np.median(snr[name]) > np.median(snr['as made']) - 3, (name, snr)
