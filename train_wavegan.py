"""Train a WaveGAN generator (WGAN-GP, phase shuffle) on spoken digits; export it in the official format.

The official SC09 weights cannot be downloaded everywhere, so the project trains its own. The
exported `checkpoint/infer.meta` + `checkpoint/model.ckpt` load exactly like the official ones.
Training resumes from `checkpoint/train_state/` when it is there.

    python train_wavegan.py --max_minutes=60
"""
import os
import time

from utils.flags import configure

# -----------------------------------------------------------------------------
data_dir = '../shared/datasets/fsdd/recordings'  # SC09 root (with train/) or an FSDD recordings folder
split = 'trainval'             # FSDD: takes 5-49 (the test takes 0-4 stay unseen)
checkpoint_dir = 'checkpoint'  # where infer.meta + model.ckpt and the training state go
classifier_path = 'classifier_checkpoint/classifier.keras'  # for the inception score, if present
log_dir = 'logs/wavegan'
wavegan_dim = 16               # d: 64 in the official SC09 model
batch_size = 16
learning_rate = 1e-4           # Adam, as in the WaveGAN paper
adam_beta1 = 0.5
adam_beta2 = 0.9
gan_loss = 'wgan-gp'           # 'wgan-gp' (the WaveGAN paper) or 'r1' (non-saturating loss + R1 penalty)
critic_steps = 5               # discriminator updates per generator update (WaveGAN: 5)
gradient_penalty = 10.0        # wgan-gp: weight of (|grad D(mix)| - 1)^2
r1_penalty = 1.0               # r1: weight of |grad D(real)|^2 / 2
phase_shuffle = 2              # discriminator phase shuffle radius (samples)
normalize = True               # scale each training clip to a peak of 0.95
max_steps = 1_000_000          # generator updates, counted across resumed runs
max_minutes = 0.0              # stop after this many minutes of this run (0: no limit)
save_minutes = 5.0             # save the training state and export the generator this often
eval_samples = 500             # clips for the inception score at each save
seed = 0
# -----------------------------------------------------------------------------


def validate(s):
    from utils.flags import FlagError
    for name in ('wavegan_dim', 'batch_size', 'critic_steps', 'max_steps'):
        if s[name] < 1:
            raise FlagError(f'--{name}={s[name]}: must be at least 1')
    if s['gan_loss'] not in ('wgan-gp', 'r1'):
        raise FlagError(f'--gan_loss={s["gan_loss"]}: expected wgan-gp or r1')
    if not s['learning_rate'] > 0:
        raise FlagError(f'--learning_rate={s["learning_rate"]}: must be positive')


config = configure(globals(), validate=validate)

import numpy as np
import tensorflow as tf
import keras
from tqdm import tqdm

from models.resnet import load_model
from models.tf1_loader import export_generator
from models.wavegan import LATENT_DIM, Discriminator, generate, init_generator_weights
from utils.data import load_split, normalize_peak
from utils.metrics import inception_score
from utils.plots import spectrogram_images

tf.random.set_seed(seed)
rng = np.random.default_rng(seed)

# data ------------------------------------------------------------------------
clips, _ = load_split(data_dir, split)
if normalize:
    clips = normalize_peak(clips)
clips = tf.constant(clips[..., None])
print(f'{clips.shape[0]} training clips from {data_dir} ({split})')

# models and optimizers -------------------------------------------------------
G = {name: tf.Variable(value, name=name)
     for name, value in init_generator_weights(wavegan_dim, seed).items()}
D = Discriminator(wavegan_dim, phase_shuffle, seed)
g_opt = keras.optimizers.Adam(learning_rate, adam_beta1, adam_beta2)
d_opt = keras.optimizers.Adam(learning_rate, adam_beta1, adam_beta2)
step = tf.Variable(0, dtype=tf.int64)
# Two files, each under 25 MB for d=16, so the state can be committed and resumed in a new session.
g_state = tf.train.Checkpoint(weights=G, optimizer=g_opt, step=step)
d_state = tf.train.Checkpoint(discriminator=D, optimizer=d_opt)
state_dir = os.path.join(checkpoint_dir, 'train_state')
g_manager = tf.train.CheckpointManager(g_state, os.path.join(state_dir, 'generator'), max_to_keep=1)
d_manager = tf.train.CheckpointManager(d_state, os.path.join(state_dir, 'discriminator'), max_to_keep=1)
if g_manager.latest_checkpoint and d_manager.latest_checkpoint:
    g_state.restore(g_manager.latest_checkpoint).assert_existing_objects_matched()
    d_state.restore(d_manager.latest_checkpoint).assert_existing_objects_matched()
    rng = np.random.default_rng([seed, int(step.numpy())])
    print(f'resumed from step {int(step.numpy())}')
g_vars = list(G.values())


def sample_z(n):
    return tf.random.uniform([n, LATENT_DIM], -1.0, 1.0)


def wgan_gp_critic_loss(real, fake):
    """E[D(fake)] - E[D(real)] + lambda * (|grad D(mix)| - 1)^2, mix between real and fake."""
    alpha = tf.random.uniform([tf.shape(real)[0], 1, 1])
    mix = real + alpha * (fake - real)
    with tf.GradientTape() as gp_tape:
        gp_tape.watch(mix)
        d_mix = D(mix)
    slopes = tf.norm(tf.reshape(gp_tape.gradient(d_mix, mix), [tf.shape(real)[0], -1]), axis=1)
    penalty = tf.reduce_mean((slopes - 1.0) ** 2)
    distance = tf.reduce_mean(D(fake)) - tf.reduce_mean(D(real))
    return distance + gradient_penalty * penalty, distance, penalty


def r1_critic_loss(real, fake):
    """softplus(D(fake)) + softplus(-D(real)) + gamma / 2 * |grad D(real)|^2 (Mescheder et al. 2018)."""
    with tf.GradientTape() as r1_tape:
        r1_tape.watch(real)
        d_real = D(real)
    penalty = tf.reduce_mean(tf.reduce_sum(tf.square(r1_tape.gradient(d_real, real)), axis=[1, 2]))
    distance = tf.reduce_mean(tf.nn.softplus(D(fake))) + tf.reduce_mean(tf.nn.softplus(-d_real))
    return distance + 0.5 * r1_penalty * penalty, distance, penalty


critic_loss = wgan_gp_critic_loss if gan_loss == 'wgan-gp' else r1_critic_loss


@tf.function
def critic_step(real):
    fake = generate(sample_z(tf.shape(real)[0]), G)
    with tf.GradientTape() as tape:
        loss, distance, penalty = critic_loss(real, fake)
    d_opt.apply_gradients(zip(tape.gradient(loss, D.trainable_variables), D.trainable_variables))
    return distance, penalty


@tf.function
def generator_step():
    with tf.GradientTape() as tape:
        scores = D(generate(sample_z(batch_size), G))
        loss = -tf.reduce_mean(scores) if gan_loss == 'wgan-gp' else tf.reduce_mean(tf.nn.softplus(-scores))
    g_opt.apply_gradients(zip(tape.gradient(loss, g_vars), g_vars))
    return loss


def evaluate_inception_score(classifier):
    audio = np.concatenate([generate(sample_z(100), G).numpy()[..., 0]
                            for _ in range(max(1, eval_samples // 100))])
    return inception_score(classifier.predict(audio, verbose=0, batch_size=100))


def save(writer, classifier):
    """Write the training state (resume point) and export the generator in the official format."""
    g_manager.save(checkpoint_number=step)
    d_manager.save(checkpoint_number=step)
    export_generator({k: v.numpy() for k, v in G.items()}, checkpoint_dir, int(step.numpy()))
    with writer.as_default(step=int(step.numpy())):
        samples = generate(sample_z(4), G)
        tf.summary.audio('generated', samples, 16000, max_outputs=4)
        tf.summary.image('spectrogram/generated', spectrogram_images(samples.numpy()[..., 0]), max_outputs=4)
        if classifier is not None:
            score = evaluate_inception_score(classifier)
            tf.summary.scalar('inception_score', score)
            tqdm.write(f'step {int(step.numpy())}: inception score {score:.2f} over {eval_samples} samples')


# training ----------------------------------------------------------------------
os.makedirs(checkpoint_dir, exist_ok=True)
writer = tf.summary.create_file_writer(log_dir)
classifier = load_model(classifier_path, 'python train_sc09_classifier.py') \
    if os.path.isfile(classifier_path) else None
started = last_save = time.time()
progress = tqdm(total=max_steps, initial=int(step.numpy()), desc='WaveGAN', unit='step')
done = int(step.numpy()) >= max_steps
while not done:
    for _ in range(critic_steps):
        real = tf.gather(clips, rng.integers(0, clips.shape[0], batch_size))
        distance, penalty = critic_step(real)
    g_loss = generator_step()
    step.assign_add(1)
    progress.update(1)
    if int(step.numpy()) % 50 == 0:
        progress.set_postfix(critic=f'{float(distance):.3f}', penalty=f'{float(penalty):.3f}')
        with writer.as_default(step=int(step.numpy())):
            tf.summary.scalar('loss/critic', distance)
            tf.summary.scalar('loss/penalty', penalty)
            tf.summary.scalar('loss/generator', g_loss)
    done = int(step.numpy()) >= max_steps or bool(max_minutes and time.time() - started > 60 * max_minutes)
    if done or time.time() - last_save > 60 * save_minutes:
        save(writer, classifier)
        last_save = time.time()
progress.close()
print(f'generator exported to {checkpoint_dir}/ at step {int(step.numpy())}')
