"""Where a clip with the generator's tone phases should be fitted, and how well the phases must agree (issue 20).

(1) The two G1 clips the 300-clip detection benchmark missed with the tones at first (clip 159 moved 37
samples, clip 239 moved 400), fitted by Gauss-Newton from the readout's z at the unmoved place and at the
tones' shift, with 2 and 8 Jacobians. (2) Phase agreement with the shipped generator's tones, per benchmark
perturbation (the benchmark's clips and noise): the range for real takes and G1 clips, and the G1 clips
between 0.2 and 0.25; and Audio_Examples' synthesized Six.

    PYTHONPATH=. python docs/experiments/2026-11-30_detection_tone_placement.py
"""
import numpy as np

from benchmarks.clip_sets import detection_clips, fake_z, perturb, perturbation_rng
from benchmarks.detection import perturbations
from models.resnet import load_inverse_mapping
from models.tf1_loader import load_generator
from models.wavegan import synthesize
from recovery import tones as T
from recovery.alignment import generator_words, level, onsets_of, search_shifts, typical_peak
from recovery.detect import FIT, SEARCH, fit_as
from utils.data import load_clips
from utils.flags import name_list
from utils.perturb import shift


def main():
    G = [load_generator('checkpoint'), load_generator('checkpoint_seed1')]
    E = load_inverse_mapping('inverse_mapping_checkpoint_robust/inverse_mapping.keras')
    words = generator_words(G[0])
    tones, peak, onsets = T.fingerprint(words), typical_peak(words), onsets_of(words)
    z = fake_z(300)
    for index, moved in [(159, 37), (239, 400)]:
        clip = shift(synthesize(G[0], z[index:index + 1]), moved)
        cells = []
        for at in (0, moved):  # the readout's z with the clip placed there (and only there), then Gauss-Newton
            _, _, start = search_shifts(E, G[0], level(clip, peak), onsets, search=SEARCH.replace(largest=abs(at)),
                                        fit=FIT.replace(affine=False), residues=np.array([float(at)]))
            for jacobians in (2, 8):
                score = fit_as(G[0], clip, np.ones(1), np.array([at]), start.copy(),
                               FIT.replace(iterations=jacobians, patience=jacobians), peak)[1]
                cells.append(f'at {at}, {jacobians} Jacobians: {score[0]:.2f} dB')
        print(f'clip {index} moved {moved}: ' + '; '.join(cells), flush=True)

    kinds = detection_clips(G, 300, 'datasets/fsdd/recordings', espeak_dir='logs/benchmarks/espeak')

    def agreement(clips):
        speeds, _ = T.played_speeds(clips, tones)
        return T.phase_agreement(level(T.undo_speed(clips, speeds), peak), tones).max(axis=-1)

    for name in name_list(perturbations):
        rng = perturbation_rng(name)  # every kind in turn, as the benchmark draws its noise
        perturbed = {kind: perturb(name, audio, rng) for kind, audio in kinds.items()}
        cells = []
        for kind in ('real', 'G1'):
            agree = agreement(perturbed[kind])
            between = np.flatnonzero((agree >= 0.2) & (agree < 0.25))
            cells.append(f'{kind} {agree.min():.3f}-{agree.max():.3f}, between 0.2 and 0.25: {len(between)} '
                         f'{between.tolist()}')
        print(f'{name}: ' + '; '.join(cells), flush=True)
    six = load_clips(['Audio_Examples/originals/Six_synthesized.wav'])[0]
    print(f'Audio_Examples Six_synthesized: peak {np.abs(six).max():.3f}, tone match '
          f'{T.speed_match(six, tones).max():.3f}, phase agreement {agreement(six)[0]:.3f}')


if __name__ == '__main__':
    main()
