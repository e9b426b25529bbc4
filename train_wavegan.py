"""Train a WaveGAN generator (WGAN-GP, phase shuffle) on spoken digits; export it in the official format.

The official SC09 weights cannot be downloaded everywhere, so the project trains its own. The
exported `checkpoint/infer.meta` + `checkpoint/model.ckpt` load exactly like the official ones.
Training resumes from `checkpoint/train_state/` when it is there.

    python train_wavegan.py --max_minutes=60
    python train_wavegan.py --strategy=mirrored --wavegan_dim=64 --batch_size=64   # every local GPU
"""
import os
import time

from utils.flags import STRATEGIES, FlagError, configure

# -----------------------------------------------------------------------------
data_dir = 'datasets/fsdd/recordings'  # FSDD recordings or SC09 root with train/ (see datasets/README.md)
split = 'trainval'             # FSDD: takes 5-49 (the test takes 0-4 stay unseen)
generator_dir = 'checkpoint'  # where infer.meta + model.ckpt and the training state go
classifier_path = 'classifier_checkpoint/classifier.keras'  # for the inception score, if present
log_dir = 'logs/wavegan'
wavegan_dim = 16               # d: 64 in the official SC09 model
batch_size = 16                # the global batch, split across replicas
learning_rate = 1e-4           # Adam, as in the WaveGAN paper
adam_beta1 = 0.5
adam_beta2 = 0.9
gan_loss = 'wgan-gp'           # 'wgan-gp' (the WaveGAN paper) or 'r1' (non-saturating loss + R1 penalty)
critic_steps = 5               # discriminator updates per generator update (WaveGAN: 5)
gradient_penalty = 10.0        # wgan-gp: weight of (|grad D(mix)| - 1)^2
r1_penalty = 1.0               # r1: weight of |grad D(real)|^2 / 2
phase_shuffle = 2              # discriminator phase shuffle radius (samples)
ema_decay = 0.999              # export a moving average of the generator's weights (0: the weights; WaveGAN: 0)
minibatch_stddev = False       # give the critic the batch's spread (ProGAN), against dropped digits (WaveGAN: False)
normalize = True               # scale each training clip to a peak of 0.95
max_steps = 1_000_000          # generator updates, counted across resumed runs
max_minutes = 0.0              # stop after this many minutes of this run (0: no limit)
save_minutes = 5.0             # save the training state and export the generator this often
eval_samples = 500             # clips for the inception score at each save
strategy = 'default'           # 'default' (one device), 'mirrored' (all local GPUs), 'multiworker' (TF_CONFIG)
seed = 0
# -----------------------------------------------------------------------------


def validate(s):
    for name in ('wavegan_dim', 'batch_size', 'critic_steps', 'max_steps'):
        if s[name] < 1:
            raise FlagError(f'--{name}={s[name]}: must be at least 1')
    if not s['learning_rate'] > 0:
        raise FlagError(f'--learning_rate={s["learning_rate"]}: must be positive')
    if not 0 <= s['ema_decay'] < 1:
        raise FlagError(f'--ema_decay={s["ema_decay"]}: must be in [0, 1)')


def main():
    """The script's work, with the settings above (after the command line's overrides)."""
    import numpy as np
    import tensorflow as tf
    import keras
    from tqdm import tqdm

    from models.resnet import load_classifier
    from models.tf1_loader import export_generator
    from models.wavegan import Discriminator, generate, init_generator_weights, random_z
    from utils.data import load_split, normalize_peak
    from utils.distribute import any_worker, chief_or_scratch, is_chief, make_strategy, per_replica, remove_scratch
    from utils.errors import UserError
    from utils.metrics import digits_heard, inception_score
    from utils.plots import spectrogram_images

    tf.random.set_seed(seed)
    rng = np.random.default_rng(seed)
    distribution = make_strategy(strategy, batch_size)
    chief = is_chief(distribution)

    # data ------------------------------------------------------------------------
    clips, _ = load_split(data_dir, split)
    if normalize:
        clips = normalize_peak(clips)
    clips = clips[..., None]
    print(f'{len(clips)} training clips from {data_dir} ({split})')

    # models and optimizers -------------------------------------------------------
    with distribution.scope():
        G = {name: tf.Variable(value, name=name)
             for name, value in init_generator_weights(wavegan_dim, seed).items()}
        # Replicas hold equal weights, so the first one's average is every replica's.
        G_ema = {name: tf.Variable(value, name=f'{name}_ema', trainable=False,
                                   aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA) for name, value in G.items()}
        D = Discriminator(wavegan_dim, phase_shuffle, seed, minibatch_stddev)
        g_opt = keras.optimizers.Adam(learning_rate, adam_beta1, adam_beta2)
        d_opt = keras.optimizers.Adam(learning_rate, adam_beta1, adam_beta2)
        g_vars = list(G.values())
        g_opt.build(g_vars)
        d_opt.build(D.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64)
    # Two files, each under 25 MB for d=16, so the state can be committed and resumed in a new session.
    # Every worker saves (a save may need all of them), but only the chief's copy is kept.
    g_state = tf.train.Checkpoint(weights=G, optimizer=g_opt, step=step)
    d_state = tf.train.Checkpoint(discriminator=D, optimizer=d_opt)
    ema_state = tf.train.Checkpoint(weights=G_ema)  # apart, so that states saved before it existed still resume
    state_dir = os.path.join(generator_dir, 'train_state')
    save_dir = chief_or_scratch(distribution, state_dir)
    g_manager = tf.train.CheckpointManager(g_state, os.path.join(save_dir, 'generator'), max_to_keep=1)
    d_manager = tf.train.CheckpointManager(d_state, os.path.join(save_dir, 'discriminator'), max_to_keep=1)
    ema_manager = tf.train.CheckpointManager(ema_state, os.path.join(save_dir, 'ema'), max_to_keep=1)
    g_last = tf.train.latest_checkpoint(os.path.join(state_dir, 'generator'))
    d_last = tf.train.latest_checkpoint(os.path.join(state_dir, 'discriminator'))
    if g_last and d_last:
        try:
            g_state.restore(g_last).assert_existing_objects_matched()
            d_state.restore(d_last).assert_existing_objects_matched()
        except ValueError as e:  # a state saved with another --wavegan_dim or --minibatch_stddev
            raise UserError(f'{state_dir}: the saved training state does not fit --wavegan_dim={wavegan_dim} '
                            f'--minibatch_stddev={minibatch_stddev} ({str(e).splitlines()[0][:160]}); '
                            f'resume with the settings it was trained with, or use another --generator_dir') from None
        ema_last = tf.train.latest_checkpoint(os.path.join(state_dir, 'ema'))
        if ema_last:
            ema_state.restore(ema_last).assert_existing_objects_matched()
        else:
            for name, weight in G.items():
                G_ema[name].assign(weight)
        rng = np.random.default_rng([seed, int(step.numpy())])
        print(f'resumed from step {int(step.numpy())}')


    def sample_z(n):
        return random_z(n, rng)


    def wgan_gp_critic_loss(real, fake, alpha):
        """E[D(fake)] - E[D(real)] + lambda * (|grad D(mix)| - 1)^2, mix = real + alpha (fake - real)."""
        mix = real + alpha * (fake - real)
        with tf.GradientTape() as gp_tape:
            gp_tape.watch(mix)
            d_mix = D(mix)
        slopes = tf.norm(tf.reshape(gp_tape.gradient(d_mix, mix), [tf.shape(real)[0], -1]), axis=1)
        penalty = tf.nn.compute_average_loss((slopes - 1.0) ** 2, global_batch_size=batch_size)
        distance = tf.nn.compute_average_loss(D(fake) - D(real), global_batch_size=batch_size)
        return distance + gradient_penalty * penalty, distance, penalty


    def r1_critic_loss(real, fake, alpha):
        """softplus(D(fake)) + softplus(-D(real)) + gamma / 2 * |grad D(real)|^2 (Mescheder et al. 2018)."""
        with tf.GradientTape() as r1_tape:
            r1_tape.watch(real)
            d_real = D(real)
        penalty = tf.nn.compute_average_loss(tf.reduce_sum(tf.square(r1_tape.gradient(d_real, real)), axis=[1, 2]),
                                             global_batch_size=batch_size)
        distance = tf.nn.compute_average_loss(tf.nn.softplus(D(fake)) + tf.nn.softplus(-d_real),
                                              global_batch_size=batch_size)
        return distance + 0.5 * r1_penalty * penalty, distance, penalty


    critic_loss = wgan_gp_critic_loss if gan_loss == 'wgan-gp' else r1_critic_loss


    def critic_replica_step(real, z, alpha):
        fake = generate(z, G)
        with tf.GradientTape() as tape:
            loss, distance, penalty = critic_loss(real, fake, alpha)
        d_opt.apply_gradients(zip(tape.gradient(loss, D.trainable_variables), D.trainable_variables))
        return distance, penalty


    def generator_replica_step(z):
        with tf.GradientTape() as tape:
            scores = D(generate(z, G))
            per_example = -scores if gan_loss == 'wgan-gp' else tf.nn.softplus(-scores)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=batch_size)
        g_opt.apply_gradients(zip(tape.gradient(loss, g_vars), g_vars))
        for name, weight in G.items():
            G_ema[name].assign(ema_decay * G_ema[name] + (1 - ema_decay) * weight)
        return loss


    @tf.function
    def critic_step(real, z, alpha):
        distance, penalty = distribution.run(critic_replica_step, args=(real, z, alpha))
        return distribution.reduce('SUM', distance, axis=None), distribution.reduce('SUM', penalty, axis=None)


    @tf.function
    def generator_step(z):
        return distribution.reduce('SUM', distribution.run(generator_replica_step, args=(z,)), axis=None)


    def evaluate_samples(classifier):
        """Inception score of eval_samples samples of the exported generator, and the digits heard in them."""
        z = random_z(max(1, eval_samples // 100) * 100, np.random.default_rng([seed, 3]))  # the same z at every step
        audio = np.concatenate([generate(z[i:i + 100], G_ema).numpy()[..., 0] for i in range(0, len(z), 100)])
        probabilities = classifier.predict(audio, verbose=0, batch_size=100)
        return inception_score(probabilities), digits_heard(probabilities)


    def save(writer, classifier):
        """Write the training state (resume point) and export the generator in the official format."""
        g_manager.save(checkpoint_number=step)
        d_manager.save(checkpoint_number=step)
        ema_manager.save(checkpoint_number=step)
        if not chief:
            return
        export_generator({k: v.numpy() for k, v in G_ema.items()}, generator_dir, int(step.numpy()))
        with writer.as_default(step=int(step.numpy())):
            samples = generate(random_z(4, np.random.default_rng([seed, 4])), G_ema)
            tf.summary.audio('generated', samples, 16000, max_outputs=4)
            tf.summary.image('spectrogram/generated', spectrogram_images(samples.numpy()[..., 0]), max_outputs=4)
            if classifier is not None:
                score, digits = evaluate_samples(classifier)
                tf.summary.scalar('inception_score', score)
                tqdm.write(f'step {int(step.numpy())}: inception score {score:.2f} over {eval_samples} samples; '
                           f'digits heard: {digits}')


    # training ----------------------------------------------------------------------
    os.makedirs(generator_dir, exist_ok=True)
    writer = tf.summary.create_file_writer(log_dir) if chief else tf.summary.create_noop_writer()
    classifier = load_classifier(classifier_path) if chief and os.path.isfile(classifier_path) else None
    started = last_save = time.time()
    progress = tqdm(total=max_steps, initial=int(step.numpy()), desc='WaveGAN', unit='step', disable=not chief)
    done = int(step.numpy()) >= max_steps
    while not done:
        for _ in range(critic_steps):
            real = clips[rng.integers(0, len(clips), batch_size)]
            alpha = rng.uniform(0, 1, (batch_size, 1, 1)).astype(np.float32)
            distance, penalty = critic_step(*per_replica(distribution, real, sample_z(batch_size), alpha))
        g_loss = generator_step(*per_replica(distribution, sample_z(batch_size)))
        step.assign_add(1)
        progress.update(1)
        if int(step.numpy()) % 50 == 0:
            progress.set_postfix(critic=f'{float(distance):.3f}', penalty=f'{float(penalty):.3f}')
            with writer.as_default(step=int(step.numpy())):
                tf.summary.scalar('loss/critic', distance)
                tf.summary.scalar('loss/penalty', penalty)
                tf.summary.scalar('loss/generator', g_loss)
        done = int(step.numpy()) >= max_steps or bool(max_minutes and time.time() - started > 60 * max_minutes)
        done, due = any_worker(distribution, done, time.time() - last_save > 60 * save_minutes)
        if done or due:
            save(writer, classifier)
            last_save = time.time()
    progress.close()
    remove_scratch(distribution, save_dir)
    if chief:
        print(f'generator exported to {generator_dir}/ at step {int(step.numpy())}')


if __name__ == '__main__':
    configure(globals(), validate=validate, choices={'gan_loss': ('wgan-gp', 'r1'), 'strategy': STRATEGIES})
    main()
