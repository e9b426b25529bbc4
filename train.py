"""Train the inverse-mapping network E: audio -> z, so that G(E(x)) sounds like x.

Each step, as in the paper: a batch of real clips trained with the perceptual loss between the
clip and G(E(clip)); then a batch synthesized at run time, x = G(z), trained with the latent MSE
between z and E(x) plus the same perceptual loss. Every epoch: checkpoint, TensorBoard logs, and
originals with their reconstructions in `waves/`. An interrupted run resumes from its last epoch.

    python train.py
    python train.py --config=paper --data_dir=datasets/sc09
    TF_CONFIG='{...}' python train.py --strategy=multiworker   # on each host (see README)
"""
import os

from models.resnet_shape import ResNetShape
from utils.flags import STRATEGIES, configure

# -----------------------------------------------------------------------------
data_dir = 'datasets/fsdd/recordings'  # FSDD recordings or SC09 root with train/ valid/ (see datasets/README.md)
train_split = 'train'          # FSDD: takes 10-49
valid_split = 'valid'          # FSDD: takes 5-9 (the paper validated on its training list)
generator_dir = 'checkpoint'  # the WaveGAN generator (infer.meta + model.ckpt)
classifier_path = 'classifier_checkpoint/classifier.keras'
inverse_dir = 'inverse_mapping_checkpoint'
log_dir = 'logs/inverse_mapping'
waves_dir = 'waves'
shape = ResNetShape()          # the ResNet and its input features (models/resnet_shape.py); each field is a flag
linear_readout = True          # add a frozen linear map from audio to z, fitted in closed form (paper: False)
linear_readout_clips = 40000   # synthesized clips for that fit (about 5 minutes and 6 GB of memory)
linear_readout_ridge = 1e-4    # its ridge penalty, relative to the audio's mean eigenvalue
level_free_readout = True      # with it, a readout of each clip's shape, whatever its gain and offset (level_free_readout.npz)
level_free_only = False        # only fit that readout beside inverse_dir's network, trained before it existed, and stop
perceptual_layers = 'stem,stage1,stage2,stage3,stage4'  # classifier layers compared by the perceptual loss
latent_loss_weight = 10.0      # weight of the latent MSE on synthesized clips (perceptual weight is 1; paper: 1)
degrade_share = 0.0            # share of synthesized clips the network and its readout see low-passed and noisy (utils/perturb.degrade; detection: 0.5)
batch_size = 32                # the global batch, split across replicas
learning_rate = 1e-3
epochs = 20
steps_per_epoch = 0            # 0: one pass over the real training clips
max_clips = 0                  # use only this many real clips of each split (0: all); for quick runs
strategy = 'default'           # 'default' (one device), 'mirrored' (all local GPUs), 'multiworker' (TF_CONFIG)
seed = 0
# -----------------------------------------------------------------------------


def main():
    """The script's work, with the settings above (after the command line's overrides)."""
    import numpy as np
    import tensorflow as tf
    import keras
    from tqdm import tqdm

    from models.resnet import load_classifier
    from models.tf1_loader import load_generator
    from models.training import (LEVEL_FREE_READOUT, ResumableCheckpoint, build_resnet, fit_level_free_readout,
                                 fit_linear_readout, start_training)
    from models.wavegan import LATENT_DIM, random_z
    from recovery.losses import perceptual_loss, perceptual_model
    from utils.audio import save_npy, save_wav
    from utils.data import load_split
    from utils.distribute import distributed_step, per_replica, weights_digest
    from utils.flags import name_list
    from utils.metrics import latent_mse
    from utils.perturb import degrade
    from utils.plots import spectrogram_images

    distribution, chief = start_training(seed, strategy, batch_size)

    generator = load_generator(generator_dir)
    level_free_path = os.path.join(inverse_dir, LEVEL_FREE_READOUT)
    if level_free_only:
        print(f'fitting the level-free readout on {linear_readout_clips} synthesized clips')
        fit_level_free_readout(level_free_path, generator, linear_readout_clips, linear_readout_ridge, seed)
        print(f'written to {level_free_path}')
        return
    classifier = load_classifier(classifier_path)
    perceptual_features = perceptual_model(classifier, name_list(perceptual_layers))
    x_train, _ = load_split(data_dir, train_split, max_clips)
    x_valid, _ = load_split(data_dir, valid_split, max_clips)
    steps = steps_per_epoch or max(1, len(x_train) // batch_size)
    print(f'{len(x_train)} training and {len(x_valid)} validation clips; {steps} steps per epoch')

    checkpoint = ResumableCheckpoint(inverse_dir, 'inverse_mapping.keras', monitor='val_loss', mode='min', write=chief)
    with distribution.scope():
        network = build_resnet(shape, LATENT_DIM, name='inverse_mapping', linear_readout=linear_readout,
                               synchronized=distribution.num_replicas_in_sync > 1)
        network.compile(optimizer=keras.optimizers.Adam(learning_rate))
        network, first_epoch = checkpoint.resume(network)
        network.optimizer.build(network.trainable_variables)
    if linear_readout and first_epoch == 0:
        print(f'fitting the linear readout on {linear_readout_clips} synthesized clips')
        fit_linear_readout(network, generator, linear_readout_clips, linear_readout_ridge, seed,
                           degrade_share=degrade_share)
        if level_free_readout and chief:
            print(f'fitting the level-free readout on {linear_readout_clips} synthesized clips')
            fit_level_free_readout(level_free_path, generator, linear_readout_clips, linear_readout_ridge, seed)
    checkpoint.set_model(network)
    rng = np.random.default_rng([seed, first_epoch])


    def real_loss(real):
        """Perceptual loss between real clips and G(E(clip))."""
        per_example = perceptual_loss(perceptual_features, real, generator(network(real, training=True)))
        return tf.nn.compute_average_loss(per_example, global_batch_size=batch_size)


    def synthetic_loss(z, audio, heard):
        """Weighted latent MSE between z and E(heard), heard = G(z) as it is or degraded, and the perceptual
        loss between G(z) and G(E(heard))."""
        z_pred = network(heard, training=True)
        latent = tf.nn.compute_average_loss(latent_mse(z, z_pred), global_batch_size=batch_size)
        perceptual = tf.nn.compute_average_loss(perceptual_loss(perceptual_features, audio, generator(z_pred)),
                                                global_batch_size=batch_size)
        return latent_loss_weight * latent, perceptual


    real_step = distributed_step(distribution, network, real_loss)
    synthetic_step = distributed_step(distribution, network, synthetic_loss)


    @tf.function
    def evaluate(real, z):
        """Validation losses: perceptual on real clips; latent and perceptual on synthesized ones."""
        real_loss = perceptual_loss(perceptual_features, real, generator(network(real, training=False)))
        synth = generator(z)
        z_pred = network(synth, training=False)
        return real_loss, latent_mse(z, z_pred), perceptual_loss(perceptual_features, synth, generator(z_pred))


    def validate():
        z_valid = random_z(len(x_valid), np.random.default_rng(seed + 1))
        parts = [evaluate(x_valid[i:i + batch_size], z_valid[i:i + batch_size])
                 for i in range(0, len(x_valid), batch_size)]
        real, latent, perceptual = (float(np.mean(np.concatenate([p[k] for p in parts]))) for k in range(3))
        return {'val_real_perceptual': real, 'val_latent_mse': latent, 'val_synth_perceptual': perceptual,
                'val_loss': real + latent_loss_weight * latent + perceptual}


    def write_examples(epoch):
        """Two real and two synthesized clips with their reconstructions, to waves/ and TensorBoard."""
        z = random_z(2, np.random.default_rng(seed + 2))
        originals = np.concatenate([x_valid[:2], generator(z).numpy()])
        z_pred = network(originals, training=False).numpy()
        reconstructions = generator(z_pred).numpy()
        for i, kind in enumerate(['real', 'real', 'synth', 'synth']):
            stem = os.path.join(waves_dir, f'epoch{epoch:03d}_{kind}{i % 2}')
            save_wav(f'{stem}_original.wav', originals[i])
            save_wav(f'{stem}_reconstruction.wav', reconstructions[i])
            save_npy(f'{stem}_z.npy', z_pred[i])
        tf.summary.audio('original', originals[..., None], 16000, max_outputs=4)
        tf.summary.audio('reconstruction', reconstructions[..., None], 16000, max_outputs=4)
        tf.summary.image('spectrogram/original', spectrogram_images(originals), max_outputs=4)
        tf.summary.image('spectrogram/reconstruction', spectrogram_images(reconstructions), max_outputs=4)


    writer = tf.summary.create_file_writer(log_dir) if chief else tf.summary.create_noop_writer()
    for epoch in range(first_epoch, epochs):
        totals = np.zeros(3)
        progress = tqdm(range(steps), desc=f'epoch {epoch + 1}/{epochs}', unit='step', disable=not chief)
        for _ in progress:
            real = x_train[rng.integers(0, len(x_train), batch_size)]
            z = random_z(batch_size, rng)
            audio = generator(z).numpy()
            heard = degrade(audio, rng, share=degrade_share)
            weighted_latent, synth_perceptual = synthetic_step(*per_replica(distribution, z, audio, heard))
            losses = np.array([float(real_step(*per_replica(distribution, real))),
                               float(weighted_latent) / latent_loss_weight, float(synth_perceptual)])
            totals += losses
            progress.set_postfix(real=f'{losses[0]:.4f}', latent=f'{losses[1]:.4f}', synth=f'{losses[2]:.4f}')
        logs = {'real_perceptual': totals[0] / steps, 'latent_mse': totals[1] / steps,
                'synth_perceptual': totals[2] / steps, **validate()}
        with writer.as_default(step=epoch + 1):
            for name, value in logs.items():
                tf.summary.scalar(name, value)
            if chief:
                write_examples(epoch + 1)
        print(f'epoch {epoch + 1}: ' + ', '.join(f'{k} {v:.4f}' for k, v in logs.items()))
        checkpoint.on_epoch_end(epoch, logs)
    print(f'best validation loss {checkpoint.state["best"]:.4f}: {checkpoint.best_path}')
    print(f'final weights digest {weights_digest(network)} ({distribution.num_replicas_in_sync} replicas)')


if __name__ == '__main__':
    configure(globals(), choices={'strategy': STRATEGIES})
    main()
