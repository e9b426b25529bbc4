"""Generate clips from a WaveGAN checkpoint: z uniform in [-1, 1] -> 16 kHz WAV files, each with its z.

Clips are written as 32-bit float WAVs, as the paper's code wrote them, so that a clip read back is G(z) to
the last bit and its z is recovered exactly; `--subtype=PCM_16` writes 16-bit files, which round each sample
(recovery then stops at that rounding's noise floor).

    python generate.py --num_samples=20 --out_dir=waves/generated
"""
import os

from utils.flags import configure

# -----------------------------------------------------------------------------
generator_dir = 'checkpoint'  # infer.meta + model.ckpt (ours, or the official SC09 one)
out_dir = 'waves/generated'
num_samples = 10
batch_size = 64
overwrite = False              # replace clips already in out_dir
subtype = 'FLOAT'              # the WAV sample format: FLOAT (G(z) exactly), PCM_16, PCM_24, ...
seed = 0
# -----------------------------------------------------------------------------


def validate(s):
    from utils.flags import FlagError
    import soundfile
    if s['num_samples'] < 1 or s['batch_size'] < 1:
        raise FlagError('--num_samples and --batch_size must be at least 1')
    if s['subtype'] not in soundfile.available_subtypes('WAV'):
        raise FlagError(f'--subtype={s["subtype"]}: expected one of {", ".join(soundfile.available_subtypes("WAV"))}')


def main():
    """The script's work, with the settings above (after the command line's overrides)."""
    import numpy as np
    from tqdm import tqdm

    from models.tf1_loader import load_generator
    from utils.audio import save_npy, save_wav
    from utils.errors import UserError
    from models.wavegan import random_z, synthesize

    names = [os.path.join(out_dir, f'{i:04d}') for i in range(num_samples)]
    taken = [n + '.wav' for n in names if os.path.exists(n + '.wav')]
    if taken and not overwrite:
        raise UserError(f'{taken[0]} and {len(taken) - 1} other clips exist; --overwrite=True replaces them, '
                        f'or choose another --out_dir')
    generator = load_generator(generator_dir)
    z = random_z(num_samples, np.random.default_rng(seed))
    audio = synthesize(generator, z, batch_size)
    for name, clip, clip_z in tqdm(list(zip(names, audio, z)), desc='writing', unit='clip'):
        save_wav(name + '.wav', clip, subtype=subtype)
        save_npy(name + '_z.npy', clip_z)
    print(f'{num_samples} clips and their z written to {out_dir}/')


if __name__ == '__main__':
    configure(globals(), validate=validate)
    main()
