"""Build `Audio_Examples/`: per digit, a spoken clip and a synthesized clip, and their recoveries, to listen to.

The spoken clips come from offline speech synthesis (espeak-ng), so the project may redistribute
them (FSDD's recordings may not be committed); they pass through 8 kHz, as FSDD's recordings did.
The synthesized clip of each digit is the sample, among `candidates` random z, that the classifier
hears as that digit most confidently, written as a float WAV exactly as G made it, at its own level, quiet
ones included (its z is saved beside it). Then latent_vector_recovery.py's
recover_folder inverts every original with the network, gradient-only and hybrid. Last,
`index.html` puts an audio player and a spectrogram beside each original and each reconstruction,
with its figures, and `overview.png` (README's opening picture) shows the hybrid recovery of the
spoken clip with the median SNR and of the synthesized clip with the median latent error.

    python make_audio_examples.py
"""
import dataclasses
import html
import os
import subprocess
import tempfile

from recovery.recipe import Recipe
from utils.flags import configure

# -----------------------------------------------------------------------------
out_dir = 'Audio_Examples'     # the examples' folder: originals/, one folder per method, index.html
generator_dir = 'checkpoint'   # WaveGAN: infer.meta + model.ckpt (old name: --checkpoint_dir)
classifier_path = 'classifier_checkpoint/classifier.keras'  # picks the synthesized clips; perceptual loss
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'  # the inverse-mapping network
recipe = Recipe()              # how z is recovered (recovery/recipe.py); each field is a flag
voice = 'en-us'                # espeak-ng voice of the spoken clips
candidates = 2000              # random z to choose each digit's synthesized clip from
seed = 0                       # of those z
# -----------------------------------------------------------------------------

import numpy as np

from latent_vector_recovery import recover_folder
from models.resnet import load_classifier, predict
from models.tf1_loader import load_generator
from models.wavegan import random_z, synthesize
from recovery.recipe import METHODS
from utils.audio import fit_length, load_audio, resample, save_npy, save_text, save_wav
from utils.data import DIGITS, normalize_peak
from utils.metrics import format_value, summarize_by_kind, write_report
from utils.plots import save_comparisons, save_spectrogram

KINDS = ('spoken', 'synthesized')


def speak(word, voice):
    """The word spoken by espeak-ng, band-limited like FSDD (8 kHz), as a 16 kHz clip of 16384 samples."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'word.wav')
        subprocess.run(['espeak-ng', '-v', voice, '-w', path, word.lower()], check=True)
        return fit_length(resample(load_audio(path, sample_rate=8000, length=None), 8000))


def write_originals(originals, generator, classifier, voice, candidates, seed):
    """Each digit spoken (16-bit), and the sample of G heard most surely as that digit (float), with its z."""
    for word in DIGITS:
        save_wav(os.path.join(originals, f'{word}_spoken.wav'), normalize_peak(speak(word, voice)))
    z = random_z(candidates, np.random.default_rng(seed))
    probabilities = predict(classifier, synthesize(generator, z), 100)
    for digit, word in enumerate(DIGITS):
        best = int(np.argmax(probabilities[:, digit]))
        save_wav(os.path.join(originals, f'{word}_synthesized.wav'), synthesize(generator, z[best:best + 1])[0],
                 subtype='FLOAT')
        save_npy(os.path.join(originals, f'{word}_synthesized_z.npy'), z[best])
        print(f'{word}: synthesized clip heard as {word} with probability {probabilities[best, digit]:.2f}')


def figures(measures, name):
    """One clip's figures from a run's per-clip measures: SNR, log-spectral distance, latent MSE if known."""
    i = list(measures['name']).index(name)
    shown = [f'SNR {measures["snr"][i]:.1f} dB', f'LSD {measures["lsd"][i]:.1f} dB']
    if np.isfinite(measures['latent_mse'][i]):
        shown.append(f'latent MSE {format_value("", float(measures["latent_mse"][i]))}')
    return ', '.join(shown)


def write_page(folder, measures):
    """index.html: for each clip, the original and each method's reconstruction, each with an audio player,
    its spectrogram and its figures; spectrograms are drawn into folder/spectrograms/."""
    def cell(wav, label, note=''):
        picture = os.path.join('spectrograms', os.path.splitext(wav)[0].replace(os.sep, '__') + '.png')
        save_spectrogram(os.path.join(folder, picture), load_audio(os.path.join(folder, wav)))
        return (f'<td><div class="label">{html.escape(label)}</div><audio controls preload="none" '
                f'src="{html.escape(wav)}"></audio><img src="{html.escape(picture)}" alt="spectrogram of '
                f'{html.escape(label)}"><div class="figures">{html.escape(note)}</div></td>')

    rows = []
    for word in DIGITS:
        for kind in KINDS:
            name = f'{word}_{kind}'
            cells = [cell(os.path.join('originals', f'{name}.wav'), f'{word}, {kind}: original')]
            cells += [cell(os.path.join(method, f'{name}_reconstruction.wav'), method, figures(measures[method],
                                                                                                f'{name}.wav'))
                      for method in METHODS]
            rows.append('<tr>' + ''.join(cells) + '</tr>')
    header = ''.join(f'<th>{h}</th>' for h in ('original', *METHODS))
    page = f'''<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Latent vector recovery: audio examples</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 6px; vertical-align: top; text-align: left; }}
audio {{ width: 230px; display: block; }} img {{ display: block; width: 230px; }}
.label {{ font-weight: bold; }} .figures {{ font-size: 0.85em; color: #333; }}
</style></head><body>
<h1>Latent vector recovery: audio examples</h1>
<p>Each row: a clip (spoken by speech synthesis, or made by the WaveGAN generator from a known z) and
G(z) for the z each method recovered. Figures: SNR of the reconstruction, log-spectral distance over
the frames where the original sounds, and latent MSE where the true z is known. The line at 0 Hz in
the reconstructions' silent tails is the generator's small constant (DC) offset.</p>
<table><tr>{header}</tr>
{chr(10).join(rows)}
</table></body></html>
'''
    save_text(os.path.join(folder, 'index.html'), page)
    return os.path.join(folder, 'index.html')


def median_clip(scores):
    return sorted(scores, key=scores.get)[len(scores) // 2]


def save_overview(folder, measures):
    """overview.png: the hybrid recoveries of the median spoken clip (by SNR) and synthesized clip (by latent MSE)."""
    hybrid = measures['hybrid']
    by_name = {name: i for i, name in enumerate(hybrid['name'])}
    snr = {word: hybrid['snr'][by_name[f'{word}_spoken.wav']] for word in DIGITS}
    error = {word: hybrid['latent_mse'][by_name[f'{word}_synthesized.wav']] for word in DIGITS}
    a, b = median_clip(snr), median_clip(error)

    def pair(name):
        return (load_audio(os.path.join(folder, 'originals', f'{name}.wav')),
                load_audio(os.path.join(folder, 'hybrid', f'{name}_reconstruction.wav')))
    save_comparisons(os.path.join(folder, 'overview.png'), [
        (f'"{a}" spoken (speech synthesis), hybrid, SNR {snr[a]:.1f} dB', *pair(f'{a}_spoken')),
        (f'"{b}" made by G, hybrid, latent MSE {error[b]:.2g}', *pair(f'{b}_synthesized'))])
    print(f'{folder}/overview.png: the median spoken ({a}) and synthesized ({b}) recoveries')


def make_audio_examples(*, out_dir, generator_dir, classifier_path, inverse_path, recipe, voice='en-us',
                        candidates=2000, seed=0):
    """Write the originals, recover them by each method, and write index.html and overview.png."""
    originals = os.path.join(out_dir, 'originals')
    write_originals(originals, load_generator(generator_dir), load_classifier(classifier_path), voice, candidates,
                    seed)
    measures = {}
    for method in METHODS:
        run_dir = os.path.join(out_dir, method)
        measures[method], seconds, refused = recover_folder(
            originals, run_dir, method=method, recipe=recipe, generator_dir=generator_dir,
            inverse_path=inverse_path, classifier_path=classifier_path, overwrite=True)
        assert not refused, refused  # the originals were written just now
        write_report(run_dir, 'metrics', {'folder': originals, 'method': method},
                     summarize_by_kind(measures[method]), seconds, dataclasses.asdict(recipe))
    print(f'{write_page(out_dir, measures)}: a player and a spectrogram for every clip')
    save_overview(out_dir, measures)


def main():
    make_audio_examples(out_dir=out_dir, generator_dir=generator_dir, classifier_path=classifier_path,
                        inverse_path=inverse_path, recipe=recipe, voice=voice, candidates=candidates, seed=seed)


if __name__ == '__main__':
    configure(globals())
    main()
