"""Build `Audio_Examples/`: per digit, a spoken clip and a synthesized clip, and their recoveries.

The spoken clips come from offline speech synthesis (espeak-ng), so the project may redistribute
them (FSDD's recordings may not be committed); they pass through 8 kHz, as FSDD's recordings did.
The synthesized clip of each digit is the sample, among `candidates` random z, that the classifier
hears as that digit most confidently. Then
`latent_vector_recovery.py` inverts every original with the network, gradient-only and hybrid.
Last, `overview.png` (README's opening picture) shows the hybrid recovery of the spoken clip with
the median SNR and of the synthesized clip with the median latent error: typical, not the best.

    python make_audio_examples.py
"""
import os
import subprocess
import sys
import tempfile

from utils.flags import configure

# -----------------------------------------------------------------------------
out_dir = 'Audio_Examples'
checkpoint_dir = 'checkpoint'
classifier_path = 'classifier_checkpoint/classifier.keras'
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'
voice = 'en-us'                # espeak-ng voice of the spoken clips
candidates = 2000              # random z to choose each digit's synthesized clip from
seed = 0
# -----------------------------------------------------------------------------

configure(globals())

import numpy as np

from models.resnet import load_classifier
from models.tf1_loader import load_generator
from utils.audio import fit_length, load_audio, resample, save_npy, save_wav
from utils.metrics import latent_mse, snr_db
from utils.plots import save_comparisons
from utils.data import DIGITS, normalize_peak
from utils.recovery import random_z, synthesize

originals = os.path.join(out_dir, 'originals')


def speak(word):
    """The word spoken by espeak-ng, band-limited like FSDD (8 kHz), as a 16 kHz clip of 16384 samples."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'word.wav')
        subprocess.run(['espeak-ng', '-v', voice, '-w', path, word.lower()], check=True)
        return fit_length(resample(load_audio(path, sample_rate=8000, length=None), 8000))


for word in DIGITS:
    save_wav(os.path.join(originals, f'{word}_spoken.wav'), normalize_peak(speak(word)))

generator = load_generator(checkpoint_dir)
classifier = load_classifier(classifier_path)
z = random_z(candidates, np.random.default_rng(seed))
probabilities = classifier.predict(synthesize(generator, z), batch_size=100, verbose=0)
for digit, word in enumerate(DIGITS):
    best = int(np.argmax(probabilities[:, digit]))
    save_wav(os.path.join(originals, f'{word}_synthesized.wav'), synthesize(generator, z[best:best + 1])[0])
    save_npy(os.path.join(originals, f'{word}_synthesized_z.npy'), z[best])
    print(f'{word}: synthesized clip heard as {word} with probability {probabilities[best, digit]:.2f}')

for flags in (['--gradient=False'], ['--inverse_mapping=False'], []):
    subprocess.run([sys.executable, 'latent_vector_recovery.py', f'--files={originals}', f'--out_dir={out_dir}',
                    f'--checkpoint_dir={checkpoint_dir}', f'--inverse_path={inverse_path}', '--overwrite=True',
                    *flags], check=True)



def hybrid_result(word, kind):
    """(original, hybrid reconstruction, hybrid z) of one example clip."""
    stem = os.path.join(out_dir, 'hybrid', f'{word}_{kind}')
    original = load_audio(os.path.join(originals, f'{word}_{kind}.wav'))
    return original, load_audio(stem + '_reconstruction.wav'), np.load(stem + '_z.npy')


def median_word(scores):
    return sorted(scores, key=scores.get)[len(scores) // 2]


spoken = {word: hybrid_result(word, 'spoken') for word in DIGITS}
synthesized = {word: hybrid_result(word, 'synthesized') for word in DIGITS}
snr = {word: float(snr_db(original, reconstruction)) for word, (original, reconstruction, _) in spoken.items()}
error = {word: float(latent_mse(np.load(os.path.join(originals, f'{word}_synthesized_z.npy')), z))
         for word, (_, _, z) in synthesized.items()}
a, b = median_word(snr), median_word(error)
save_comparisons(os.path.join(out_dir, 'overview.png'), [
    (f'"{a}" spoken (speech synthesis), hybrid, SNR {snr[a]:.1f} dB', *spoken[a][:2]),
    (f'"{b}" made by G, hybrid, latent MSE {error[b]:.2g}', *synthesized[b][:2])])
print(f'{out_dir}/overview.png: the median spoken ({a}) and synthesized ({b}) recoveries')
