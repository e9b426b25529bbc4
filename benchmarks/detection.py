"""Deepfake detection benchmark: recovery against the authors' encoder head and a spectral baseline, clean
and under the perturbations real clips meet.

Clips no model has seen: FSDD's test takes (real), G(z) of the shipped generator and of the second one
for z drawn from this benchmark's own seed, and digits spoken by espeak-ng (made by neither; Debian's
`espeak-ng` package, installed before the run). Each perturbation is applied alike to every kind.
Detection is real against the shipped generator's clips; attribution (recovery against both
generators, on `attribution_perturbations`) says which generator made each clip, or none. Rows:
`recovery` (recovery/detect.py), `encoder_head` (train_detector.py's head on the frozen inverse-mapping
network, the authors' recipe) and `spectral` (logistic regression on the mean log spectrum, trained
here on the same training takes and G(z) as the head). Columns: ROC AUC, equal error rate, true
positives at 1% false positives, attribution, other speech called "none", seconds per clip.

Scores are kept per perturbation in `{out_dir}/scores/`, so an interrupted run goes on where it
stopped (`--clips`, `--seed`, `--generators` or `--inverse_paths` changed: they are recomputed;
`--inverse_path` or `--detector_path` changed: the head's). Writes `{out_dir}/detection.md` and `.json`,
with the ROC curves and score histograms of the clean clips as PNGs.

    apt-get install -y espeak-ng && python benchmarks/detection.py
    python benchmarks/detection.py --clips=50 --perturbations=clean,gain-12   # a quick look
"""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils.flags import FlagError, configure, declared_settings, name_list

# -----------------------------------------------------------------------------
data_dir = 'datasets/fsdd/recordings'  # FSDD recordings: the test takes are the real clips, the training takes train the baselines
test_split = 'test'            # FSDD: takes 0-4, 300 clips
train_split = 'train'          # FSDD: takes 10-49, for the spectral baseline (the encoder head is trained by train_detector.py)
clips = 300                    # clips of each kind (real, each generator's, other speech)
generators = 'checkpoint,checkpoint_seed1'  # the shipped generator (detection) and the second one (attribution)
inverse_paths = ('inverse_mapping_checkpoint_robust/inverse_mapping.keras,'  # recovery's starts (trained to see through codecs)
                 'inverse_mapping_checkpoint_seed1_robust/inverse_mapping.keras')
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'  # the frozen network under the authors' head
detector_path = 'detector_checkpoint/encoder_head.npz'  # the authors' head (python train_detector.py)
detectors = 'recovery,encoder_head,spectral'
perturbations = 'clean,gain-12,gain+6,noise40,noise30,noise20,resample8k,ogg,mp3,shift1,shift37,shift400,speed5'
attribution_perturbations = 'clean'  # where recovery also scores every kind against the second generator
threshold_db = 3.0             # recovery's decision threshold (detect_deepfakes.py's default), for attribution
other_speech = True            # include digits spoken by espeak-ng (made by neither generator)
other_speech_dir = 'logs/benchmarks/espeak'  # where they are made (once)
out_dir = 'logs/benchmarks/detection'
batch_size = 32
seed = 2026                    # of the fakes' z and the noise (train_detector.py draws from 1000)
# -----------------------------------------------------------------------------

DETECTORS = ('recovery', 'encoder_head', 'spectral')


def rates(negatives, positives):
    from utils.roc import equal_error_rate, roc_auc, tpr_at_fpr
    return {'auc': roc_auc(negatives, positives), 'eer': equal_error_rate(negatives, positives),
            'tpr_at_1pct': tpr_at_fpr(negatives, positives, 0.01)}


def main():
    import numpy as np

    from benchmarks.clip_sets import detection_clips, perturb, perturbation_rng
    from models.detectors import LogisticRegression, encoder_features, mean_log_spectrum
    from models.resnet import load_inverse_mapping
    from models.tf1_loader import load_generator
    from models.wavegan import random_z, synthesize
    from recovery.detect import recovery_scores
    from recovery.profile import Profile
    from utils.audio import save_json, save_npy_dict, save_text
    from utils.data import load_split
    from utils.plots import save_roc_curves, save_score_histogram
    from utils.roc import roc_curve

    chosen = name_list(detectors)
    generator_dirs, network_paths = name_list(generators), name_list(inverse_paths)
    G = [load_generator(g) for g in generator_dirs]
    networks = {}

    def E(k):  # each generator's network, loaded when first needed
        if k not in networks:
            networks[k] = load_inverse_mapping(network_paths[k])
        return networks[k]

    # the clips ---------------------------------------------------------------------
    espeak = other_speech and shutil.which('espeak-ng')
    if other_speech and not espeak:
        print('espeak-ng is not installed (apt-get install espeak-ng): no "made by neither" clips')
    kinds = detection_clips(G, clips, data_dir, test_split, other_speech_dir if espeak else None, seed)
    print(', '.join(f'{len(a)} {k}' for k, a in kinds.items()) + ' clips')

    # the trained baselines ------------------------------------------------------------
    head = LogisticRegression.load(detector_path, 'python train_detector.py') if 'encoder_head' in chosen else None
    head_network = load_inverse_mapping(inverse_path) if 'encoder_head' in chosen else None
    spectral = None
    if 'spectral' in chosen:
        train_real = load_split(data_dir, train_split)[0]
        train_fake = synthesize(G[0], random_z(len(train_real), np.random.default_rng([seed, 99])))
        spectral = LogisticRegression().fit(mean_log_spectrum(np.concatenate([train_real, train_fake])),
                                            np.r_[np.zeros(len(train_real)), np.ones(len(train_fake))])

    def score(detector, audio, k, profile):
        if detector == 'recovery':
            return recovery_scores(audio, G[k], E(k), batch_size=batch_size, profile=profile,
                                   desc=f'recovery, G{k + 1}')['score']
        if detector == 'encoder_head':
            return head.logit(encoder_features(head_network, audio))
        return spectral.logit(mean_log_spectrum(audio))

    # scores, kept per perturbation so that a run resumes -----------------------------------
    key = {'clips': clips, 'seed': seed, 'generators': generators, 'inverse_paths': inverse_paths}
    head_key = json.dumps({'inverse_path': inverse_path, 'detector_path': detector_path})
    results, stages = {}, {}
    for name in name_list(perturbations):
        path = os.path.join(out_dir, 'scores', f'{name}.npz')
        saved = dict(np.load(path)) if os.path.isfile(path) else {}
        if saved and json.loads(str(saved.get('key', '{}'))) != key:
            saved = {}
        if str(saved.get('head_key', '')) != head_key:  # another head or network: only its scores go
            saved = {field: value for field, value in saved.items() if not field.startswith('encoder_head/')}
        rng = perturbation_rng(name, seed)
        perturbed = {kind: perturb(name, audio, rng) for kind, audio in kinds.items()}
        for detector in chosen:
            wanted = [(kind, 0) for kind in ('real', 'G1')]
            if detector == 'recovery' and name in name_list(attribution_perturbations):
                wanted = [(kind, k) for kind in perturbed for k in range(len(G))]
            for kind, k in wanted:
                field = f'{detector}/{kind}/G{k + 1}'
                if field in saved:
                    continue
                profile = Profile()
                started = time.perf_counter()
                saved[field] = score(detector, perturbed[kind], k, profile)
                saved[f'{field}/seconds'] = np.array((time.perf_counter() - started) / len(perturbed[kind]))
                saved[f'{field}/stages'] = np.array(json.dumps({s: t / len(perturbed[kind])
                                                                for s, t in profile.seconds.items()}))
                saved['key'], saved['head_key'] = np.array(json.dumps(key)), np.array(head_key)
                save_npy_dict(path, saved)
                print(f'{name}: {field} scored ({float(saved[f"{field}/seconds"]):.2f} s a clip)')
        results[name] = saved

    # the table ---------------------------------------------------------------------------
    rows = []
    for name, saved in results.items():
        for detector in chosen:
            negatives, positives = saved[f'{detector}/real/G1'], saved[f'{detector}/G1/G1']
            row = {'perturbation': name, 'detector': detector, **rates(negatives, positives),
                   'seconds_per_clip': float(np.mean([saved[f'{detector}/{kind}/G1/seconds'] for kind in ('real', 'G1')]))}
            if f'{detector}/G2/G2' in saved:
                row.update(attribution(saved, detector, len(G)))
            if detector == 'recovery' and name == 'clean':
                stages[name] = {s: float(np.mean([json.loads(str(saved[f'recovery/{kind}/G1/stages']))[s]
                                                  for kind in ('real', 'G1')])) for s in Profile.STAGES}
            rows.append(row)
    report = markdown(rows, stages, {k: len(a) for k, a in kinds.items()})
    save_text(os.path.join(out_dir, 'detection.md'), report)
    save_json(os.path.join(out_dir, 'detection.json'),
              {'settings': declared_settings(globals()), 'rows': rows, 'stages': stages})
    if 'clean' in results:
        clean = results['clean']
        save_roc_curves(os.path.join(out_dir, 'roc_clean.png'),
                        [(d, *roc_curve(clean[f'{d}/real/G1'], clean[f'{d}/G1/G1'])) for d in chosen],
                        'real FSDD takes vs the shipped generator, clean')
        if 'recovery' in chosen:
            groups = [(f'{kind}', clean[f'recovery/{kind}/G1']) for kind in kinds if f'recovery/{kind}/G1' in clean]
            save_score_histogram(os.path.join(out_dir, 'scores_clean.png'), groups,
                                 'recovery score: SNR of the best fit by the shipped generator (dB)',
                                 'clean clips', threshold=threshold_db)
    print(report)


def attribution(saved, detector, generators):
    """Shares of each generator's clips attributed to it, and of other clips attributed to none (recovery's
    best fit over threshold_db)."""
    import numpy as np

    def named(kind):
        scores = np.stack([saved[f'{detector}/{kind}/G{k + 1}'] for k in range(generators)])
        return np.where(scores.max(axis=0) > threshold_db, scores.argmax(axis=0) + 1, 0)
    made = [np.mean(named(f'G{k + 1}') == k + 1) for k in range(generators)]
    out = {'attribution': float(np.mean(made)), 'real_none': float(np.mean(named('real') == 0))}
    if f'{detector}/espeak/G1' in saved:
        out['espeak_none'] = float(np.mean(named('espeak') == 0))
    return out


def markdown(rows, stages, counts):
    from utils.audio import markdown_table

    def pct(row, key):
        return f'{100 * row[key]:.1f}%' if key in row else '—'
    lines = [f'Clips of each kind: {", ".join(f"{n} {k}" for k, n in counts.items())}. Detection: real vs G1 '
             f'(the shipped generator). Attribution: G1 and G2 clips named right; "none": real and espeak-ng clips '
             f'named by neither generator.', '',
             markdown_table(['perturbation', 'detector', 'ROC AUC', 'EER', 'TPR at 1% FPR', 'attribution',
                             'real: none', 'espeak: none', 's/clip'],
                            [[row['perturbation'], row['detector'], f'{row["auc"]:.4f}', f'{100 * row["eer"]:.2f}%',
                              f'{100 * row["tpr_at_1pct"]:.1f}%', pct(row, 'attribution'), pct(row, 'real_none'),
                              pct(row, 'espeak_none'), f'{row["seconds_per_clip"]:.3f}'] for row in rows]).rstrip('\n')]
    for name, seconds in stages.items():
        lines += ['', f'Recovery\'s seconds a clip by stage ({name}, real and G1 clips): ' +
                  ', '.join(f'{s} {t:.3f}' for s, t in seconds.items() if t)]
    return '\n'.join(lines) + '\n'


def validate(s):
    from benchmarks.clip_sets import PERTURBATION
    unknown = set(name_list(s['detectors'])) - set(DETECTORS)
    if unknown:
        raise FlagError(f'--detectors: unknown {sorted(unknown)}; known: {",".join(DETECTORS)}')
    for field in ('perturbations', 'attribution_perturbations'):
        for name in name_list(s[field]):
            if not PERTURBATION.fullmatch(name):
                raise FlagError(f'--{field}: unknown perturbation {name!r}')


if __name__ == '__main__':
    configure(globals(), validate=validate)
    main()
