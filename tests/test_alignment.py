"""Words anywhere: the shift search before recovery, and the paper's 16384 Hz files."""
import os

import numpy as np
import soundfile as sf

from conftest import ROOT, shipped_generator, word
from models.resnet import load_inverse_mapping
from models.wavegan import random_z, synthesize
from recovery.alignment import generator_onsets, typical_shifts
from recovery.recover import Models, recover
from tiny import WAVEFORM
from utils import metrics
from utils.audio import CLIP_LENGTH
from utils.data import load_clips
from utils.perturb import shift, word_extent


def test_a_shifted_clip_g_made_is_recovered_exactly_with_its_shift():
    """Clips the shipped generator made, moved later by 0, 37, 400 and 3000 samples (their ends cut) and earlier by
    200 (its start cut), are recovered exactly with the shipped network: the search finds each shift, Gauss-Newton
    fits the samples the moved clip still holds, and G(z) moved by the reported shift lays over the clip. (The search needs a readout that tells
    a plausible z from others; the tiny test generator's readout, fitted on a thousand clips, does not.)
    Break: recovery/alignment.py: `return shift(clips, -np.asarray(shifts)), shift(np.ones_like(clips), -np.asarray(shifts))` -> `return shift(clips, -np.asarray(shifts)), np.ones_like(clips)`
    Break: recovery/alignment.py: `chosen[i] = unmoved[0] if stays else ranked[0]` -> `chosen[i] = unmoved[0]`
    Break: recovery/recover.py: `placed, inside = place(clips, shifts)` -> `placed, inside = clips.copy(), np.ones_like(clips)`
    """
    generator = shipped_generator()
    network = load_inverse_mapping(os.path.join(ROOT, 'inverse_mapping_checkpoint', 'inverse_mapping.keras'))
    z_true = random_z(5, np.random.default_rng(13))  # five clips Gauss-Newton fits without restarts
    moves = np.array([0, 37, 400, 3000, -200])
    clips = shift(synthesize(generator, z_true), moves)
    z, found = recover(clips, 'hybrid', Models(generator, network), WAVEFORM.replace(max_iter=0, restarts=0))[:2]
    np.testing.assert_array_equal(found, moves)
    assert np.all(metrics.latent_mse(z_true, z) < 1e-8)
    assert np.all(metrics.snr_db(clips, shift(synthesize(generator, z), found)) > 80)


def test_a_clip_g_cannot_make_has_its_word_moved_to_where_g_starts_words():
    """A tone the shipped generator cannot make, its word late in the clip, is moved so its word starts at the
    median onset of G's words (128 samples; they start as late as 3,300), and the shift that did it is reported;
    without the search nothing moves.
    Break: recovery/recover.py: `shifts[moved] = typical_shifts(clips[moved], context.onsets)` -> `pass`
    Break: recovery/alignment.py: `return word_onset(clips) - int(np.median(onsets))` -> `return word_onset(clips) - int(np.max(onsets))`
    """
    generator = shipped_generator()
    network = load_inverse_mapping(os.path.join(ROOT, 'inverse_mapping_checkpoint', 'inverse_mapping.keras'))
    clip = word(onset=9000)
    recipe = WAVEFORM.replace(max_iter=2, gauss_newton_iterations=1, restarts=0)
    found = recover(clip, 'hybrid', Models(generator, network), recipe).shift
    onsets = generator_onsets(generator)
    assert found[0] == word_extent(clip)[0][0] - int(np.median(onsets)) == typical_shifts(clip, onsets)[0]
    assert found[0] == 8960 - 128
    unmoved = recover(clip, 'hybrid', Models(generator, network), recipe.replace(find_shift=False)).shift
    assert unmoved[0] == 0


def test_a_16384_hz_paper_file_is_read_as_16_khz_with_a_line_saying_so(tmp_path, capsys):
    """A file of exactly 16384 samples whose header says 16384 Hz holds the paper's 16 kHz audio: its samples are
    read as they are (not resampled, which would shift the pitch), and a line names it; --paper_rate=False
    resamples it; a 16384 Hz file of another length is resampled either way.
    Break: utils/audio.py: `if paper_rate and is_paper_style(rate, len(audio)):` -> `if False:`
    Break: utils/data.py: `        print(f'{which}: 16384 samples with 16384 Hz in the header, read as 16 kHz audio as the paper wrote it '` -> `        print(f'{which}: '`
    """
    samples = (0.5 * np.sin(2 * np.pi * 440 * np.arange(CLIP_LENGTH) / 16000)).astype(np.float32)
    paper = tmp_path / 'paper.wav'
    sf.write(str(paper), samples, 16384, subtype='FLOAT')
    other = tmp_path / 'longer.wav'
    sf.write(str(other), np.concatenate([samples, samples[:100]]), 16384, subtype='FLOAT')
    audio, _, _, _ = load_clips([str(paper)])
    np.testing.assert_array_equal(audio[0], samples)
    out = capsys.readouterr().out
    assert str(paper) in out and 'read as 16 kHz audio as the paper wrote it' in out
    resampled, _, _, _ = load_clips([str(paper)], paper_rate=False)
    assert np.abs(resampled[0] - samples).max() > 0.1
    assert 'paper' not in capsys.readouterr().out
    longer, _, _, _ = load_clips([str(other)])
    assert np.abs(longer[0] - samples).max() > 0.1
    assert 'as the paper wrote it' not in capsys.readouterr().out
