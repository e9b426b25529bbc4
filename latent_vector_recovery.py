"""Recover the latent vector z of every clip in a folder, so that WaveGAN's G(z) reproduces the clip.

Methods: the inverse-mapping network alone, gradient-only (from random z), or hybrid (from the
network's z; both flags true). The start is refined by Gauss-Newton on the waveform, which recovers
z exactly when G can make the clip; clips it cannot fit (real speech) get L-BFGS on a perceptual
loss instead. `--config=paper_recovery` recovers as the paper did. Clips of any length, rate and
channel count are read as 16 kHz mono and padded or cut to 16384 samples. For each clip NAME it
writes `{out_dir}/{method}/NAME_reconstruction.wav`, `NAME_z.npy` and `NAME.png` (waveforms and
spectrograms of the original and its reconstruction).

It prints the metrics of the clips it recovered (SNR, spectrogram SSIM, log-spectral distance,
STOI) and writes them to `{out_dir}/{method}/metrics.json` and `.md`. Across machines: run
`--num_workers=N --worker_index=K` (or under TF_CONFIG) for every K, each on its share of the folder
(whole batches), then `--merge=True` for the table of all of them.

    python latent_vector_recovery.py
    python latent_vector_recovery.py --files=my_clips --gradient=False
    python latent_vector_recovery.py --files=sc09/test --num_workers=4 --worker_index=0   # ... 1, 2, 3
    python latent_vector_recovery.py --files=sc09/test --num_workers=4 --merge=True
"""
import os
import sys

from utils.flags import RECOVERY_LOSSES, check_recovery_settings, configure

# -----------------------------------------------------------------------------
files = 'Audio_Examples/originals'  # folder of clips to invert (searched recursively)
checkpoint_dir = 'checkpoint'  # WaveGAN: infer.meta + model.ckpt (ours, or the official SC09 one)
inverse_path = 'inverse_mapping_checkpoint/inverse_mapping.keras'
classifier_path = 'classifier_checkpoint/classifier.keras'  # used by the paper's recovery loss
out_dir = 'waves'
inverse_mapping = True         # start from the network's z (alone if gradient is False)
gradient = True                # refine z with L-BFGS (from random z if inverse_mapping is False)
max_iter = 200                 # L-BFGS iterations, for clips Gauss-Newton cannot fit exactly
refine_steps = 32              # steps z += K (x - G(z)) on the network's z, K its linear readout (paper: 0)
gauss_newton_iterations = 12   # at most this many Jacobians a clip for Gauss-Newton on the waveform (0: L-BFGS only, as the paper)
chord_steps = 8                # after each, steps that reuse its Jacobian (one generator call each, not 100)
restarts = 5                   # clips Gauss-Newton leaves stuck at the prior's bound start again, those coordinates redrawn
fallback_snr = 20.0            # clips Gauss-Newton leaves below this SNR (dB) get L-BFGS from the start z
lbfgs_bounded = True           # keep z in [-1, 1], WaveGAN's prior (the paper did not)
recovery_loss = 'perceptual'   # L-BFGS loss: 'perceptual' (log-spectral + classifier), 'waveform' or 'paper'
perceptual_layers = 'stem,stage1,stage2,stage3,stage4,pool'  # classifier layers in the loss
perceptual_weight = 30.0
spectral_weight = 1.0          # weight of the log-spectral MSE in the 'perceptual' loss
normalize = True               # scale clips peaking outside [0.2, 1] (G's range) to a peak of 0.95
batch_size = 32                # clips optimised together
overwrite = False              # replace existing outputs
num_workers = 0                # split the folder across workers (0: from TF_CONFIG, else 1)
worker_index = 0               # this worker's share, 0 .. num_workers - 1
merge = False                  # merge the workers' partial metrics into one table
profile = False                # print where recovery's time goes: seconds and generator passes of each stage
seed = 0
# -----------------------------------------------------------------------------


config = configure(globals(), validate=check_recovery_settings, choices={'recovery_loss': RECOVERY_LOSSES})

from models.resnet import load_classifier, load_inverse_mapping
from models.tf1_loader import load_generator
from utils import metrics
from utils.audio import list_audio_files, save_npy, save_wav
from utils.data import load_clips, normalize_level
from utils.distribute import partial_files, partial_name, share_of, worker_split
from utils.flags import name_list
from utils.plots import save_comparison
from utils.recovery import Profile, method_name, recover, recovery_objective, synthesize

method = method_name(inverse_mapping, gradient)
method_dir = os.path.join(out_dir, method)


def output_stem(path):
    return os.path.join(method_dir, os.path.splitext(os.path.relpath(path, files))[0].replace(os.sep, '__'))


def already_done(path):
    return not overwrite and os.path.isfile(output_stem(path) + '_z.npy')


def recover_and_save(paths, ids):
    """Recover the clips of `paths` (ids: their places in the folder) and write each one's outputs;
    return the per-clip measures, the seconds recovery took and the files that could not be read."""
    audio, _, kept, failures = load_clips(paths, desc='reading clips')
    if not len(audio):
        return None, 0.0, failures
    ids = [i for path, i in zip(paths, ids) if path in kept]
    if normalize:
        audio = normalize_level(audio)
    generator = load_generator(checkpoint_dir)
    network = load_inverse_mapping(inverse_path) if inverse_mapping else None
    classifier = load_classifier(classifier_path) if recovery_loss != 'waveform' else None
    objective = recovery_objective(recovery_loss, classifier, name_list(perceptual_layers), perceptual_weight,
                                   spectral_weight)
    timing = Profile()
    z = recover(audio, method, generator, objective, network, max_iter, lbfgs_bounded, batch_size, seed,
                gauss_newton_iterations, fallback_snr, clip_ids=ids, chord_steps=chord_steps,
                refine_steps=refine_steps, restarts=restarts, profile=timing)
    seconds = timing.total
    if profile:
        print(f'where the time of {len(audio)} clips went ({method}):\n{timing.table(len(audio))}')
    reconstructions = synthesize(generator, z, batch_size)  # the recovery's batches: a worker's share is whole ones
    measures = metrics.clip_measures(audio, reconstructions)
    for path, original, clip_z, reconstruction, clip_snr in zip(kept, audio, z, reconstructions, measures['snr']):
        stem = output_stem(path)
        save_wav(stem + '_reconstruction.wav', reconstruction)
        save_comparison(stem + '.png', original, reconstruction,
                        f'{os.path.basename(path)}: {method}, SNR {clip_snr:.1f} dB')
        save_npy(stem + '_z.npy', clip_z)
    print(f'{len(kept)} clips recovered ({method}) into {method_dir}/')
    return measures, seconds, failures


def report(measures, seconds, workers=1):
    results = {'folder': files, 'method': method, **metrics.summarize(measures, seconds)}
    results = {k: v for k, v in results.items() if v is not None}
    if workers > 1:
        results['workers'] = workers
    metrics.write_report(method_dir, 'metrics', results, config)


if merge:
    paths = partial_files(method_dir, 'metrics')
    report(*metrics.merge_measures(paths), workers=len(paths))
    sys.exit(0)

workers, index = worker_split(num_workers, worker_index)
inputs = list_audio_files(files)
ids = share_of(list(range(len(inputs))), workers, index, batch_size)
todo = [i for i in ids if not already_done(inputs[i])]
if len(todo) < len(ids):
    print(f'{len(ids) - len(todo)} clips already recovered in {method_dir}/ (--overwrite=True to redo)')
measures, seconds, failures = recover_and_save([inputs[i] for i in todo], todo)
if measures is not None and workers == 1:
    report(measures, seconds)
elif measures is not None:
    part = partial_name('metrics', workers, index)
    metrics.save_measures(os.path.join(method_dir, f'{part}.npz'), measures, seconds)
    print(f'worker {index} of {workers}: partial metrics in {method_dir}/{part}.npz '
          f'(merge them with --merge=True once every worker is done)')

if failures:
    print(f'{len(failures)} of {len(todo)} clips could not be read:')
    for failure in failures:
        print(f'  {failure}')
    sys.exit(1)
