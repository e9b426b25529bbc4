"""Recover the latent vector z of every clip in a folder, so that WaveGAN's G(z) reproduces the clip.

Methods: the inverse-mapping network alone, gradient-only (from random z), or hybrid (from the
network's z; both flags true). The start is refined by Gauss-Newton on the waveform, which recovers
z exactly when G can make the clip; clips it cannot fit (real speech) get L-BFGS on a perceptual
loss instead (`recipe`, in recovery/recipe.py; `--config=paper_recovery` recovers as the paper did).
Clips of any length, rate and channel count are read as 16 kHz mono and padded or cut to 16384
samples. Each clip is taken as gain * G(z) + offset, so its level and DC offset are fitted, not changed,
and it is first placed where the generator makes its words (`--find_shift`): its reconstruction is
G(z) moved by the shift found, with that gain and offset, laid over the original. A clip is done when
its fit reaches the noise its file's sample format allows (16-bit rounding, say). For each clip NAME it
writes `NAME_reconstruction.wav`, `NAME_z.npy` and `NAME.png` (waveforms and spectrograms of the original
and its reconstruction) into `{out_dir}/{input folder's name}/{method}/`, with `clips.csv` (each clip's
shift in samples, gain, offset, SNR and z file) and the run's metrics (`metrics.json`, `.md`),
by kind of clip: a clip with its true z beside it (`NAME_z.npy`, as generate.py writes) is
'synthesized' and its latent error is measured; the others are 'real'.

Across machines: run `--num_workers=N --worker_index=K` (or under TF_CONFIG) for every K, each on its
share of the folder (whole batches), then `--merge=True` for the table of all of them.

    python latent_vector_recovery.py
    python latent_vector_recovery.py --input_dir=my_clips --gradient=False
    python latent_vector_recovery.py --input_dir=sc09/test --num_workers=4 --worker_index=0   # ... 1, 2, 3
    python latent_vector_recovery.py --input_dir=sc09/test --num_workers=4 --merge=True
"""
import os
import sys

from recovery.recipe import Recipe, method_name
from utils.flags import check_recovery_settings, configure, declared_settings

# -----------------------------------------------------------------------------
input_dir = 'Audio_Examples/originals'  # folder of clips to invert, searched recursively (old name: --files)
generator_dir = 'checkpoint'   # WaveGAN: infer.meta + model.ckpt, ours or the official SC09 one (old name: --checkpoint_dir)
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'  # the inverse-mapping network
classifier_path = 'classifier_checkpoint/classifier.keras'  # the classifier, for the perceptual loss
out_dir = 'waves'              # results go to {out_dir}/{input folder's name}/{method}/
inverse_mapping = True         # start from the network's z (alone if gradient is False)
gradient = True                # refine z (from random z if inverse_mapping is False)
recipe = Recipe()              # how z is recovered (recovery/recipe.py); each field is a flag, e.g. --max_iter=100
paper_rate = True              # read files of 16384 samples whose header says 16384 Hz as 16 kHz audio (the paper's outputs)
batch_size = 32                # clips optimised together
overwrite = False              # replace existing outputs
num_workers = 0                # split the folder across workers (0: from TF_CONFIG, else 1)
worker_index = 0               # this worker's share, 0 .. num_workers - 1
merge = False                  # merge the workers' partial metrics into one table
profile = False                # print where recovery's time goes: seconds and generator passes of each stage
seed = 0                       # of gradient-only's random starts
# -----------------------------------------------------------------------------

import numpy as np

from models.wavegan import LATENT_DIM
from recovery.profile import Profile
from recovery.recover import load_models, measure, recover
from utils.audio import list_audio_files, noise_floor, output_stem, run_folder, save_csv, save_npy, save_wav
from utils.data import load_clips
from utils.distribute import merge_shares, partial_name, report_share, share_of, worker_split
from utils.plots import save_comparison


def clips_table_name(workers, worker_index):
    """`clips.csv`, or each worker's own `clips.worker{k}of{n}.csv`."""
    return 'clips.csv' if workers == 1 else partial_name('clips', workers, worker_index) + '.csv'


def true_z(path):
    """The z saved beside a clip (`NAME_z.npy`) when G made it, else None."""
    beside = os.path.splitext(path)[0] + '_z.npy'
    return np.load(beside).astype(np.float32).reshape(-1) if os.path.isfile(beside) else None


def recover_folder(input_dir, run_dir, *, method, recipe, generator_dir, inverse_path, classifier_path,
                   paper_rate=True, batch_size=32, overwrite=False, workers=1, worker_index=0, profile=False, seed=0):
    """Recover this worker's share of the clips in input_dir into run_dir (reconstruction, z and picture of
    each); return their per-clip measures (None if none was recovered), the seconds recovery took and
    the files refused, which are listed before any work starts."""
    inputs = [path for path in list_audio_files(input_dir) if not path.endswith('_reconstruction.wav')]
    ids = share_of(list(range(len(inputs))), workers, worker_index, batch_size)
    todo = [i for i in ids if overwrite or not os.path.isfile(output_stem(inputs[i], input_dir, run_dir) + '_z.npy')]
    if len(todo) < len(ids):
        print(f'{len(ids) - len(todo)} clips already recovered in {run_dir}/ (--overwrite=True to redo)')
    audio, _, kept, refused = load_clips([inputs[i] for i in todo], desc='reading clips', paper_rate=paper_rate)
    for failure in refused:
        print(f'refused {failure}')
    if not len(audio):
        return None, 0.0, refused
    ids = [i for i in todo if inputs[i] in kept]
    floors = np.array([noise_floor(path, paper_rate=paper_rate) for path in kept])
    print(recipe.plan(method, len(audio), f'clips of {input_dir}', batch_size))
    models = load_models(method, recipe, generator_dir=generator_dir, inverse_path=inverse_path,
                         classifier_path=classifier_path)
    timing = Profile()
    recovered = recover(audio, method, models, recipe, floors=floors, batch_size=batch_size, seed=seed, clip_ids=ids,
                        profile=timing)
    if profile:
        print(f'where the time of {len(audio)} clips went ({method}):\n{timing.table(len(audio))}')
    known = [true_z(path) for path in kept]
    kinds = ['synthesized' if k is not None else 'real' for k in known]
    z_true = np.array([np.full(LATENT_DIM, np.nan, np.float32) if k is None else k for k in known])
    measures, reconstructions = measure(models.generator, audio, recovered, floors=floors, z_true=z_true,
                                        kinds=kinds)
    measures['name'] = np.array([os.path.relpath(path, input_dir) for path in kept])
    rows = []
    for i, (path, original, reconstruction) in enumerate(zip(kept, audio, reconstructions)):
        stem = output_stem(path, input_dir, run_dir)
        save_wav(stem + '_reconstruction.wav', reconstruction, subtype='FLOAT')
        save_comparison(stem + '.png', original, reconstruction,
                        f'{os.path.basename(path)}: {method}, SNR {measures["snr"][i]:.1f} dB, shift '
                        f'{recovered.shift[i]} samples, gain {recovered.gain[i]:.3g}, offset {recovered.offset[i]:.2g}')
        save_npy(stem + '_z.npy', recovered.z[i])
        rows.append({'file': os.path.relpath(path, input_dir), 'shift': int(recovered.shift[i]),
                     'gain': float(f'{recovered.gain[i]:.6g}'), 'offset': float(f'{recovered.offset[i]:.6g}'),
                     'snr_db': round(float(measures['snr'][i]), 2), 'done': bool(recovered.done[i]),
                     'z_file': os.path.basename(stem) + '_z.npy'})
    save_csv(os.path.join(run_dir, clips_table_name(workers, worker_index)), rows)
    print(f'{len(kept)} clips recovered ({method}) into {run_dir}/')
    return measures, timing.total, refused


def main():
    config = declared_settings(globals())  # what is recorded beside the results
    method = method_name(inverse_mapping, gradient)
    run_dir = run_folder(input_dir, out_dir, method)
    header = {'folder': input_dir, 'method': method}
    if merge:
        merge_shares(run_dir, 'metrics', header, config)
        return
    workers, index = worker_split(num_workers, worker_index)
    measures, seconds, refused = recover_folder(
        input_dir, run_dir, method=method, recipe=recipe, generator_dir=generator_dir, inverse_path=inverse_path,
        classifier_path=classifier_path, paper_rate=paper_rate, batch_size=batch_size,
        overwrite=overwrite, workers=workers, worker_index=index, profile=profile, seed=seed)
    if measures is not None:
        report_share(run_dir, 'metrics', header, measures, seconds, config, workers, index)
    if refused:
        print(f'{len(refused)} clips could not be read:')
        for failure in refused:
            print(f'  {failure}')
        sys.exit(1)


if __name__ == '__main__':
    configure(globals(), validate=check_recovery_settings)
    main()
