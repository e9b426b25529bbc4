"""The ResNet shared by the digit classifier and the inverse-mapping network.

Both take raw audio [batch, 16384]: a Spectrogram layer computes the STFT features inside the
model, so a saved model carries its own feature settings. Layers whose activations feed the
perceptual loss are named 'input' (the spectrogram), 'stem', 'stage1'...'stageN' and 'pool'.
"""
import os
import re

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from models.wavegan import LATENT_DIM
from utils.audio import CLIP_LENGTH
from utils.errors import UserError
from utils.features import spectrogram

STEM_KERNEL = {'paper': 7, 'small': 3}
NUM_DIGITS = 10  # the classifier's classes: the spoken digits 0-9


@keras.saving.register_keras_serializable(package='lvr')
class Spectrogram(layers.Layer):
    """Audio [batch, 16384] -> STFT features [batch, 128, 129, channels].

    With normalize, each clip is first scaled to a peak of 1, so the features ignore loudness.
    """

    def __init__(self, kind='log_magnitude', channels=1, normalize=True, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.channels, self.normalize = kind, channels, normalize

    def call(self, audio):
        if self.normalize:
            audio = audio / tf.maximum(tf.reduce_max(tf.abs(audio), axis=-1, keepdims=True), 1e-4)
        return spectrogram(audio, self.kind, self.channels)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 128, 129, self.channels)

    def get_config(self):
        return {**super().get_config(), 'kind': self.kind, 'channels': self.channels, 'normalize': self.normalize}


def basic_block(x, width, stride, name, synchronized=False):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 projection) shortcut."""
    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False, name=f'{name}_proj')(x)
        shortcut = layers.BatchNormalization(synchronized=synchronized, name=f'{name}_proj_bn')(shortcut)
    y = layers.Conv2D(width, 3, strides=stride, padding='same', use_bias=False, name=f'{name}_conv1')(x)
    y = layers.BatchNormalization(synchronized=synchronized, name=f'{name}_bn1')(y)
    y = layers.ReLU(name=f'{name}_relu1')(y)
    y = layers.Conv2D(width, 3, padding='same', use_bias=False, name=f'{name}_conv2')(y)
    y = layers.BatchNormalization(synchronized=synchronized, name=f'{name}_bn2')(y)
    y = layers.Add(name=f'{name}_add')([y, shortcut])
    return y


def resnet(outputs, output_activation=None, widths=(16, 32, 64, 128), blocks=(1, 1, 1, 1),
           stem='small', features='log_magnitude', feature_channels=1, normalize=True, linear_readout=False,
           synchronized=False, name='resnet'):
    """ResNet on the STFT of a clip: stem (conv stride 2, BN, ReLU, max pool), stages, pool, dense.

    widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), stem='paper' is the paper's ResNet-18.
    normalize scales each clip to a peak of 1 before its STFT (the paper fed clips as they were).
    linear_readout adds a frozen dense layer from the raw audio to the output, set in closed form by
    `models.training.fit_linear_readout`; the ResNet's head starts at zero and learns what it misses.
    synchronized batch norm takes its statistics over all replicas of a distributed step.
    """
    audio = keras.Input((CLIP_LENGTH,), name='audio')
    x = Spectrogram(features, feature_channels, normalize, name='input')(audio)
    x = layers.Conv2D(widths[0], STEM_KERNEL[stem], strides=2, padding='same', use_bias=False,
                      name='stem_conv')(x)
    x = layers.BatchNormalization(synchronized=synchronized, name='stem_bn')(x)
    x = layers.ReLU(name='stem_relu')(x)
    x = layers.MaxPooling2D(3, strides=2, padding='same', name='stem')(x)
    for stage, (width, count) in enumerate(zip(widths, blocks), start=1):
        for block in range(count):
            stride = 2 if stage > 1 and block == 0 else 1
            x = basic_block(x, width, stride, f'stage{stage}_block{block + 1}', synchronized)
            last = block == count - 1
            x = layers.ReLU(name=f'stage{stage}' if last else f'stage{stage}_block{block + 1}_out')(x)
    x = layers.GlobalAveragePooling2D(name='pool')(x)
    if linear_readout:
        y = layers.Dense(outputs, kernel_initializer='zeros', name='head')(x)
        readout = layers.Dense(outputs, trainable=False, name='linear_readout')(audio)
        y = layers.Add(name='output')([y, readout])
    else:
        y = layers.Dense(outputs, activation=output_activation, name='output')(x)
    return keras.Model(audio, y, name=name)


def activation_model(model, layer_names):
    """A model from audio to the activations of the named layers of `model` (for the perceptual loss)."""
    missing = [n for n in layer_names if n not in {l.name for l in model.layers}]
    if missing:
        offered = [l.name for l in model.layers if re.fullmatch(r'input|stem|stage\d+|pool', l.name)]
        raise UserError(f'{model.name} has no layers {missing}; it offers {offered} (--perceptual_layers)')
    return keras.Model(model.input, [model.get_layer(n).output for n in layer_names])


def load_model(path, train_command, outputs):
    """Load a saved classifier or inverse-mapping network taking [batch, 16384] audio to `outputs` values,
    or stop with one line saying what is wrong and how to get a good one."""
    if not os.path.isfile(path):
        raise UserError(f'{path}: no such model; train one with `{train_command}`')
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:
        raise UserError(f'{path}: not a loadable Keras model ({str(e).splitlines()[0][:200]}); '
                        f'train one with `{train_command}`') from None
    found = [tuple(t.shape) for t in model.inputs + model.outputs]
    expected = [(None, CLIP_LENGTH), (None, outputs)]
    if found != expected:
        raise UserError(f'{path}: maps {" -> ".join(map(str, found))}, expected {" -> ".join(map(str, expected))} '
                        f'(audio -> {outputs} values); train one with `{train_command}`')
    return model


def predict(model, audio, batch_size=32):
    """A model's outputs for clips [N, 16384], batch_size clips at a time, run eagerly: each clip's
    output depends only on its batch, not on the shapes a traced function met before."""
    return np.concatenate([model(tf.constant(audio[i:i + batch_size], tf.float32), training=False).numpy()
                           for i in range(0, len(audio), batch_size)] or [np.zeros((0,) + model.output_shape[1:])])


def load_classifier(path):
    return load_model(path, 'python train_sc09_classifier.py', NUM_DIGITS)


def load_inverse_mapping(path):
    return load_model(path, 'python train.py', LATENT_DIM)
