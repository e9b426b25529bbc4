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
learning_rate = 1e-3           # Adam's
classifier_epochs = 30         # epochs in all (a resumed run goes on to this many)
shift_augment = 2000           # delay each training clip by a random 0..n samples (0: off)
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

    distribution, chief = start_training(seed, strategy, batch_size)
    os.makedirs(classifier_dir, exist_ok=True)


    def random_delays(audio):
        """Shift each clip later by 0..shift_augment samples, so the classifier does not rely on onset."""
        delayed = np.zeros_like(audio)
        for clip, out, delay in zip(audio, delayed, rng.integers(0, shift_augment + 1, len(audio))):
            out[delay:] = clip[:len(clip) - delay]
        return delayed


    def classification_loss(audio, labels):
        per_example = keras.losses.sparse_categorical_crossentropy(labels, model(audio, training=True))
        return tf.nn.compute_average_loss(per_example, global_batch_size=batch_size)


    def accuracy_of(network, audio, labels):
        return accuracy(predict(network, audio, 256), labels)


    held_out = name_list(exclude_speakers)
    x_train, y_train = load_split(data_dir, train_split, exclude_speakers=held_out)
    x_valid, y_valid = load_split(data_dir, valid_split, exclude_speakers=held_out)
    x_test, y_test = load_split(data_dir, test_split, exclude_speakers=held_out)
    print(f'{len(x_train)} training, {len(x_valid)} validation, {len(x_test)} test clips from {data_dir}')

    checkpoint = ResumableCheckpoint(classifier_dir, 'classifier.keras', monitor='val_accuracy', write=chief)
    with distribution.scope():
        model = build_resnet(shape, NUM_DIGITS, 'softmax', name='classifier',
                             synchronized=distribution.num_replicas_in_sync > 1)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        model, first_epoch = checkpoint.resume(model)
        model.optimizer.build(model.trainable_variables)
    checkpoint.set_model(model)
    train_step = distributed_step(distribution, model, classification_loss)
    rng = np.random.default_rng([seed, first_epoch])
    writer = tf.summary.create_file_writer(log_dir) if chief else tf.summary.create_noop_writer()
    steps = max(1, len(x_train) // batch_size)
    for epoch in range(first_epoch, classifier_epochs):
        order, total = rng.permutation(len(x_train)), 0.0
        progress = tqdm(range(steps), desc=f'epoch {epoch + 1}/{classifier_epochs}', unit='step', disable=not chief)
        for i in progress:
            batch = order[i * batch_size:(i + 1) * batch_size]
            audio = random_delays(x_train[batch]) if shift_augment else x_train[batch]
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
    for speaker in held_out:
        x, y = load_split(data_dir, 'all', only_speakers=(speaker,))
        print(f'held-out speaker {speaker} (all takes): accuracy {accuracy_of(best, x, y):.4f}')


if __name__ == '__main__':
    config = configure(globals(), choices={'strategy': STRATEGIES})
    main()
