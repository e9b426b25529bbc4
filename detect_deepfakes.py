"""Tell which clips of a folder a WaveGAN generator made (deepfake detection), and which of several made each.

Detectors (`--detector`):
- `recovery` (ours, no training): how closely the generator makes the clip, whatever its gain, DC
  offset, shift, speed or clipped peaks (recovery/detect.py). The score is that fit's SNR in dB; clips G made
  score 30-40 dB (fitting stops at 40), real speech about 0, a fake under 20 dB of noise about 15.
- `encoder_head` (the authors' recipe; `--config=paper` with their models): a two-class head on the frozen inverse-mapping
  network (`--inverse_path`), trained by `train_detector.py`. The score is its probability that the clip is fake.
With several generators (`--generators=dirA,dirB`, each with its inverse-mapping network in
`--inverse_paths`), recovery scores each clip against each and names the one that fits it best, or
'none' when none reaches the threshold (`--config=attribution` uses the two shipped generators).

A detector knows only its generators, so its decision names what it can know: the generator that made the clip
(its folder's name), `none` (made by no generator it knows: real speech, or another generator's fake), or `refused`.
For a folder NAME it writes `{out_dir}/NAME/{detector}/detections.csv`, `.json` and `.md`: each clip's
file, score, decision, recovered SNR, shift, speed and z file (`FILE_z.npy` beside the table). Clips that
cannot be read, are silent or too short are listed as refused, never scored.

    python detect_deepfakes.py --input_dir=my_clips
    python detect_deepfakes.py --input_dir=my_clips --config=attribution
    python detect_deepfakes.py --input_dir=my_clips --detector=encoder_head   # the authors' recipe
"""
import os
import sys

import numpy as np

from utils.flags import FlagError, configure, name_list

# -----------------------------------------------------------------------------
input_dir = 'Audio_Examples/originals'  # folder of clips to judge, searched recursively
detector = 'recovery'          # 'recovery' (ours) or 'encoder_head' (the authors': a head on the inverse-mapping network)
generators = 'checkpoint'      # generator folders, comma-separated; with two or more, each clip is attributed to one or none
inverse_paths = 'inverse_mapping_checkpoint_robust/inverse_mapping.keras'  # recovery: each generator's inverse-mapping network (trained to see through codecs), in the same order
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'  # encoder_head: the frozen network under the head (train_detector.py's)
detector_path = 'detector_checkpoint/encoder_head.npz'  # encoder_head's trained head (python train_detector.py)
threshold_db = 3.0             # recovery: a clip fitted above this SNR (dB) is named after its generator (real speech: about 0)
threshold_probability = 0.5    # encoder_head: a clip scored above this is named after the generator
out_dir = 'waves'              # results go to {out_dir}/{input folder's name}/{detector}/
paper_rate = True              # read files of 16384 samples whose header says 16384 Hz as 16 kHz audio (the paper's outputs)
batch_size = 32                # clips scored together
profile = False                # print where recovery's time goes, stage by stage
# -----------------------------------------------------------------------------

DETECTORS = ('recovery', 'encoder_head')


def validate(s):
    if len(name_list(s['generators'])) != len(name_list(s['inverse_paths'])):
        raise FlagError(f'--generators names {len(name_list(s["generators"]))} folders but --inverse_paths '
                        f'{len(name_list(s["inverse_paths"]))} networks: give one network per generator')
    if s['detector'] == 'encoder_head' and len(name_list(s['generators'])) > 1:
        raise FlagError('--detector=encoder_head judges one generator; attribution (several --generators) '
                        'needs --detector=recovery')


def generator_name(folder):
    return os.path.basename(os.path.normpath(folder))


def detect(audio, *, detector, generator_dirs, inverse_paths, detector_path, head_network_path, threshold_db=3.0,
           threshold_probability=0.5, batch_size=32, profile=None):
    """Judge clips [N, 16384]: a dict of per-clip arrays 'score', 'fake', 'generator' (the name of the
    folder whose generator made the clip, or 'none'), 'snr_db' (the recovered fit), 'shift', 'speed' and 'z'
    (the clip is change_speed(shift(G(z), shift), speed) with a gain and offset). encoder_head reads the
    network at head_network_path."""
    from models.detectors import LogisticRegression, encoder_features
    from models.resnet import load_inverse_mapping
    from models.tf1_loader import load_generator
    from models.wavegan import synthesize
    from recovery.detect import recovery_scores
    from recovery.network_start import predict_z
    from utils.metrics import snr_db

    if detector == 'encoder_head':
        head = LogisticRegression.load(detector_path, 'python train_detector.py')
        generator, network = load_generator(generator_dirs[0]), load_inverse_mapping(head_network_path)
        score = head.probability(encoder_features(network, audio))
        z = np.clip(predict_z(network, audio), -1, 1)
        fake = score > threshold_probability
        return {'score': score, 'fake': fake, 'generator': np.where(fake, generator_name(generator_dirs[0]), 'none'),
                'snr_db': snr_db(audio, synthesize(generator, z)), 'shift': np.zeros(len(audio), int),
                'speed': np.ones(len(audio)), 'z': z}
    fits = [recovery_scores(audio, load_generator(g), load_inverse_mapping(n), batch_size=batch_size,
                            profile=profile, desc=f'fitting {generator_name(g)}')
            for g, n in zip(generator_dirs, inverse_paths)]
    scores = np.stack([fit['score'] for fit in fits])  # [generators, N]
    best = scores.argmax(axis=0)
    clips = np.arange(len(audio))
    score = scores[best, clips]
    fake = score > threshold_db
    names = np.array([generator_name(g) for g in generator_dirs])
    return {'score': score, 'fake': fake, 'generator': np.where(fake, names[best], 'none'), 'snr_db': score,
            **{key: np.stack([fit[key] for fit in fits])[best, clips] for key in ('shift', 'speed', 'z')},
            **{f'score_{name}': row for name, row in zip(names, scores)}}


def table_rows(files, judged, refused):
    """Rows of the detections table: the judged clips (paths below the input folder), then the refused ones,
    (path, reason) each."""
    from utils.audio import flat_name
    extra = sorted(key for key in judged if key.startswith('score_'))
    rows = []
    for i, path in enumerate(files):
        rows.append({'file': path, 'score': round(float(judged['score'][i]), 4), 'decision': str(judged['generator'][i]),
                     'snr_db': round(float(judged['snr_db'][i]), 2), 'shift': int(judged['shift'][i]),
                     'speed': round(float(judged['speed'][i]), 4),
                     'z_file': flat_name(path) + '_z.npy',
                     **{key: round(float(judged[key][i]), 2) for key in extra}, 'reason': ''})
    blank = dict.fromkeys(rows[0] if rows else ['file', 'score', 'decision', 'snr_db', 'shift', 'speed', 'z_file',
                                                  'reason'], '')
    for path, reason in refused:
        rows.append({**blank, 'file': path, 'decision': 'refused', 'reason': reason})
    return rows


def decision_counts(decisions):
    """'3 made by checkpoint, 7 none (made by no generator it knows)', from each clip's decision."""
    names, counts = np.unique(np.asarray(decisions, str), return_counts=True) if len(decisions) else ([], [])
    made = [f'{n} made by {name}' for name, n in zip(names, counts) if name != 'none']
    none = int(sum(n for name, n in zip(names, counts) if name == 'none'))
    return ', '.join(made + [f'{none} none (made by no generator it knows)'])


def main():
    from recovery.profile import Profile
    from utils.audio import list_audio_files, markdown_table, run_folder, save_csv, save_json, save_npy, save_text
    from utils.data import load_clips

    run_dir = run_folder(input_dir, out_dir, detector)
    files = [path for path in list_audio_files(input_dir) if not path.endswith('_reconstruction.wav')]
    audio, _, kept, refused = load_clips(files, desc='reading clips', paper_rate=paper_rate)
    for failure in refused:
        print(f'refused {failure}')
    timing = Profile()
    judged = detect(audio, detector=detector, generator_dirs=name_list(generators),
                    inverse_paths=name_list(inverse_paths), detector_path=detector_path, head_network_path=inverse_path,
                    threshold_db=threshold_db, threshold_probability=threshold_probability, batch_size=batch_size,
                    profile=timing) if len(audio) else None
    names = [os.path.relpath(path, input_dir) for path in kept]
    why = [failure.partition(': ') for failure in refused]  # AudioError says 'path: reason'
    rows = table_rows(names, judged if judged else {}, [(os.path.relpath(path, input_dir), reason)
                                                        for path, _, reason in why])
    for row, z in zip(rows, judged['z'] if judged else []):
        save_npy(os.path.join(run_dir, row['z_file']), z)
    if rows:
        save_csv(os.path.join(run_dir, 'detections.csv'), rows)
        save_json(os.path.join(run_dir, 'detections.json'), rows)
        save_text(os.path.join(run_dir, 'detections.md'), markdown_table(list(rows[0]), [row.values() for row in rows]))
    if profile and detector == 'recovery' and len(audio):
        print(f'where the time of {len(audio)} clips went:\n{timing.table(len(audio))}')
    print(f'{len(kept)} clips judged by {detector}: {decision_counts(judged["generator"] if judged else [])}'
          + (f', {len(refused)} refused' if refused else '') + f'; table in {run_dir}/detections.csv')
    if refused:
        print(f'{len(refused)} clips refused:\n' + '\n'.join(f'  {failure}' for failure in refused))
        sys.exit(1)


if __name__ == '__main__':
    configure(globals(), validate=validate, choices={'detector': DETECTORS})
    main()
