"""Train the spoken-digit classifier (a ResNet on the STFT) whose activations define the perceptual loss.

Keeps the model with the best validation accuracy in `classifier_checkpoint/classifier.keras`,
reports its accuracy on the test split, and resumes an interrupted run from its last epoch.

    python train_sc09_classifier.py
    python train_sc09_classifier.py --config=paper --data_dir=datasets/sc09
"""
import os

from models.resnet_shape import ResNetShape
from utils.flags import STRATEGIES, configure

# -----------------------------------------------------------------------------
data_dir = 'datasets/fsdd/recordings'  # FSDD recordings or SC09 root with train/ valid/ test/ (see datasets/README.md)
train_split = 'train'          # FSDD: takes 10-49
valid_split = 'valid'          # FSDD: takes 5-9, picks the best epoch
test_split = 'test'            # FSDD: takes 0-4 (official test split)
exclude_speakers = ''          # comma-separated FSDD speakers left out of training, e.g. 'theo'
classifier_dir = 'classifier_checkpoint'
log_dir = 'logs/classifier'
shape = ResNetShape()          # the ResNet and its input features (models/resnet_shape.py); each field is a flag
batch_size = 32                # the global batch, split across replicas
learning_rate = 1e-3           # Adam's at the start, falling along a cosine to 0 at the last epoch (a resumed run keeps its schedule)
classifier_epochs = 40         # epochs in all (a resumed run goes on to this many)
augment = True                 # train on words at random onsets, gain, noise at 20-40 dB SNR, speed changes (utils/perturb.py)
speed_change = 0.15            # the largest speed change of that augmentation, as a fraction (voices differ by more than 5%)
strategy = 'default'           # 'default' (one device), 'mirrored' (all local GPUs), 'multiworker' (TF_CONFIG)
seed = 0                       # of the weights' initialisation and the batches' order
# -----------------------------------------------------------------------------


def main():
    """The script's work, with the settings above (after the command line's overrides)."""
    import numpy as np
    import tensorflow as tf
    import keras
    from tqdm import tqdm

    from models.resnet import NUM_DIGITS, predict
    from models.training import ResumableCheckpoint, build_resnet, start_training
    from utils.data import load_split
    from utils.distribute import distributed_step, per_replica
    from utils.flags import name_list
    from utils.metrics import accuracy
    from utils.perturb import augment as augmented, random_onsets

    distribution, chief = start_training(seed, strategy, batch_size)
    os.makedirs(classifier_dir, exist_ok=True)


    def classification_loss(audio, labels):
        per_example = keras.losses.sparse_categorical_crossentropy(labels, model(audio, training=True))
        return tf.nn.compute_average_loss(per_example, global_batch_size=batch_size)


    def accuracy_of(network, audio, labels):
        return accuracy(predict(network, audio, 256), labels)


    def at_random_onsets(audio):
        """The clips with their words moved to random onsets, the same ones on every call."""
        return random_onsets(audio, np.random.default_rng(12345))[0]


    held_out = name_list(exclude_speakers)
    x_train, y_train = load_split(data_dir, train_split, exclude_speakers=held_out)
    x_valid, y_valid = load_split(data_dir, valid_split, exclude_speakers=held_out)
    x_test, y_test = load_split(data_dir, test_split, exclude_speakers=held_out)
    print(f'{len(x_train)} training, {len(x_valid)} validation, {len(x_test)} test clips from {data_dir}')
    # the best epoch is the one that hears the validation words best both where they were recorded and anywhere
    x_valid, y_valid = np.concatenate([x_valid, at_random_onsets(x_valid)]), np.concatenate([y_valid, y_valid])

    steps = max(1, len(x_train) // batch_size)
    checkpoint = ResumableCheckpoint(classifier_dir, 'classifier.keras', monitor='val_accuracy', write=chief)
    with distribution.scope():
        model = build_resnet(shape, NUM_DIGITS, 'softmax', name='classifier',
                             synchronized=distribution.num_replicas_in_sync > 1)
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=classifier_epochs * steps)
        model.compile(optimizer=keras.optimizers.Adam(schedule))
        model, first_epoch = checkpoint.resume(model)
        model.optimizer.build(model.trainable_variables)
    checkpoint.set_model(model)
    train_step = distributed_step(distribution, model, classification_loss)
    rng = np.random.default_rng([seed, first_epoch])
    writer = tf.summary.create_file_writer(log_dir) if chief else tf.summary.create_noop_writer()
    for epoch in range(first_epoch, classifier_epochs):
        order, total = rng.permutation(len(x_train)), 0.0
        progress = tqdm(range(steps), desc=f'epoch {epoch + 1}/{classifier_epochs}', unit='step', disable=not chief)
        for i in progress:
            batch = order[i * batch_size:(i + 1) * batch_size]
            audio = augmented(x_train[batch], rng, speed=speed_change) if augment else x_train[batch]
            total += float(train_step(*per_replica(distribution, audio, y_train[batch])))
        logs = {'loss': total / steps, 'val_accuracy': accuracy_of(model, x_valid, y_valid)}
        with writer.as_default(step=epoch + 1):
            for name, value in logs.items():
                tf.summary.scalar(name, value)
        print(f'epoch {epoch + 1}: loss {logs["loss"]:.4f}, validation accuracy {logs["val_accuracy"]:.4f}')
        checkpoint.on_epoch_end(epoch, logs)
    if not chief:
        return  # the chief reports the best model's accuracy

    best = keras.models.load_model(checkpoint.best_path)
    print(f'best validation accuracy: {checkpoint.state["best"]:.4f}')
    print(f'test accuracy ({test_split}): {accuracy_of(best, x_test, y_test):.4f}')
    print(f'test accuracy ({test_split}, words at random onsets): {accuracy_of(best, at_random_onsets(x_test), y_test):.4f}')
    for speaker in held_out:
        x, y = load_split(data_dir, 'all', only_speakers=(speaker,))
        print(f'held-out speaker {speaker} (all takes): accuracy {accuracy_of(best, x, y):.4f}')


if __name__ == '__main__':
    configure(globals(), choices={'strategy': STRATEGIES})
    main()
