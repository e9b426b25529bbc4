"""Train the spoken-digit classifier (a ResNet on the STFT) whose activations define the perceptual loss.

Keeps the model with the best validation accuracy in `classifier_checkpoint/classifier.keras`,
reports its accuracy on the test split, and resumes an interrupted run from its last epoch.

    python train_sc09_classifier.py
    python train_sc09_classifier.py --config=paper --data_dir=datasets/sc09
"""
import os

from utils.flags import configure

# -----------------------------------------------------------------------------
data_dir = '../shared/datasets/fsdd/recordings'  # SC09 root (train/ valid/ test/) or FSDD recordings
train_split = 'train'          # FSDD: takes 10-49
valid_split = 'valid'          # FSDD: takes 5-9, picks the best epoch
test_split = 'test'            # FSDD: takes 0-4 (official test split)
exclude_speakers = ''          # comma-separated FSDD speakers left out of training, e.g. 'theo'
classifier_dir = 'classifier_checkpoint'
log_dir = 'logs/classifier'
features = 'log_magnitude'     # 'log_magnitude' or 'magnitude' (the paper's real part, fixed)
feature_channels = 1           # the paper stacks its feature 3 times
peak_normalize = True          # scale each clip to a peak of 1 before its STFT (loudness-invariant)
resnet_widths = '16,32,64,128'  # paper: 64,128,256,512 (ResNet-18)
resnet_blocks = '1,1,1,1'      # paper: 2,2,2,2
resnet_stem = 'small'          # 'small' (3x3 conv) or 'paper' (7x7 conv)
batch_size = 32
learning_rate = 1e-3
classifier_epochs = 30
shift_augment = 2000           # delay each training clip by a random 0..n samples (0: off)
seed = 0
# -----------------------------------------------------------------------------

config = configure(globals())

import tensorflow as tf
import keras

from utils.data import load_split
from utils.flags import name_list
from utils.training import ResumableCheckpoint, build_resnet

keras.utils.set_random_seed(seed)
os.makedirs(classifier_dir, exist_ok=True)


def random_delay(audio, label):
    """Shift the clip later by 0..shift_augment samples, so the classifier does not rely on onset."""
    delay = tf.random.uniform([], 0, shift_augment + 1, dtype=tf.int32)
    return tf.pad(audio, [[delay, 0]])[:tf.shape(audio)[0]], label


held_out = name_list(exclude_speakers)
x_train, y_train = load_split(data_dir, train_split, exclude_speakers=held_out)
x_valid, y_valid = load_split(data_dir, valid_split, exclude_speakers=held_out)
x_test, y_test = load_split(data_dir, test_split, exclude_speakers=held_out)
print(f'{len(x_train)} training, {len(x_valid)} validation, {len(x_test)} test clips from {data_dir}')

train_data = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
              .shuffle(len(x_train), seed=seed)
              .map(random_delay if shift_augment else lambda a, l: (a, l))
              .batch(batch_size).prefetch(2))

checkpoint = ResumableCheckpoint(classifier_dir, 'classifier.keras', monitor='val_accuracy')
model = build_resnet(config, 10, 'softmax', name='classifier')
model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss='sparse_categorical_crossentropy',
              metrics=['accuracy'])
model, first_epoch = checkpoint.resume(model)
checkpoint.set_model(model)
if first_epoch < classifier_epochs:
    model.fit(train_data, validation_data=(x_valid, y_valid), epochs=classifier_epochs,
              initial_epoch=first_epoch, callbacks=[checkpoint, keras.callbacks.TensorBoard(log_dir)],
              verbose=2)

best = keras.models.load_model(checkpoint.best_path)
print(f'best validation accuracy: {checkpoint.state["best"]:.4f}')
print(f'test accuracy ({test_split}): {best.evaluate(x_test, y_test, verbose=0)[1]:.4f}')
for speaker in held_out:
    x, y = load_split(data_dir, 'all', only_speakers=(speaker,))
    print(f'held-out speaker {speaker} (all takes): accuracy {best.evaluate(x, y, verbose=0)[1]:.4f}')
