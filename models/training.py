"""Pieces shared by the training scripts: their start, resumable Keras checkpoints, the ResNet they describe,
and the inverse mapping's linear readouts."""
import json
import os

import keras
import numpy as np
from tqdm import tqdm

from models.resnet import resnet
from models.wavegan import LATENT_DIM, random_z, synthesize
from utils.audio import CLIP_LENGTH, atomic_write, save_json, unit_shape
from utils.distribute import is_chief, make_strategy
from utils.errors import UserError
from utils.flags import int_list
from utils.perturb import degrade


def start_training(seed, strategy, batch_size):
    """Seed every random generator; return the tf.distribute strategy and whether this worker is its chief."""
    keras.utils.set_random_seed(seed)
    distribution = make_strategy(strategy, batch_size)
    return distribution, is_chief(distribution)


def build_resnet(shape, outputs, output_activation=None, name='resnet', linear_readout=False, synchronized=False):
    """The ResNet that a ResNetShape describes; synchronized batch norm computes its statistics over the
    global batch of all replicas."""
    return resnet(outputs, output_activation, widths=int_list(shape.resnet_widths),
                  blocks=int_list(shape.resnet_blocks), stem=shape.resnet_stem, features=shape.features,
                  feature_channels=shape.feature_channels, normalize=shape.peak_normalize,
                  linear_readout=linear_readout, synchronized=synchronized, name=name)


def ridge_readout(generator, clips, ridge=1e-4, seed=0, batch_size=2000, degrade_share=0.0, heard=None):
    """(kernel [16384, 100], bias [100]): the ridge regression of z on `heard(G(z))` (the audio itself by default)
    over `clips` synthesized clips, in closed form.

    The least-squares linear map from the waveform to z already recovers z far better than gradient descent
    trains a network to (the waveform's phase carries z); `ridge` is relative to the mean eigenvalue of the
    audio's covariance. With degrade_share, that share of the clips is degraded first (utils/perturb.degrade),
    so that the map leans less on the faint highs that codecs and resampling take out.
    """
    z = random_z(clips, np.random.default_rng(seed))
    rng = np.random.default_rng([seed, 1])

    def synthesize_heard(z):
        audio = degrade(synthesize(generator, z), rng, share=degrade_share)
        return audio if heard is None else heard(audio)

    if clips < CLIP_LENGTH:  # fewer clips than samples: solve in the clips' space
        audio = synthesize_heard(z)
        mean_audio, mean_z = audio.mean(axis=0), z.mean(axis=0)
        audio -= mean_audio
        gram = (audio @ audio.T).astype(np.float64)
        gram[np.diag_indices_from(gram)] += ridge * np.trace(gram) / clips
        kernel = audio.T.astype(np.float64) @ np.linalg.solve(gram, z - mean_z)
    else:  # the audio's covariance, summed batch by batch: memory stays near two 16384^2 matrices
        gram, cross = np.zeros((CLIP_LENGTH, CLIP_LENGTH)), np.zeros((CLIP_LENGTH, LATENT_DIM))
        sum_audio = np.zeros(CLIP_LENGTH)
        for first in tqdm(range(0, clips, batch_size), desc='linear readout', unit='batch'):
            audio = synthesize_heard(z[first:first + batch_size])
            gram += audio.T @ audio
            cross += audio.T @ z[first:first + batch_size]
            sum_audio += audio.sum(axis=0)
        mean_audio, mean_z = sum_audio / clips, z.mean(axis=0)
        gram -= clips * np.outer(mean_audio, mean_audio)
        cross -= clips * np.outer(mean_audio, mean_z)
        gram[np.diag_indices_from(gram)] += ridge * np.trace(gram) / CLIP_LENGTH
        kernel = np.linalg.solve(gram, cross)  # scipy's OpenBLAS segfaults on this size
    return kernel.astype(np.float32), (mean_z - mean_audio @ kernel).astype(np.float32)


def fit_linear_readout(network, generator, clips, ridge=1e-4, seed=0, batch_size=2000, degrade_share=0.0):
    """Set the network's frozen 'linear_readout' layer to the ridge regression of z on raw audio G(z)
    (ridge_readout)."""
    network.get_layer('linear_readout').set_weights(
        list(ridge_readout(generator, clips, ridge, seed, batch_size, degrade_share)))


LEVEL_FREE_READOUT = 'level_free_readout.npz'  # beside the inverse-mapping network it serves


def fit_level_free_readout(path, generator, clips, ridge=1e-4, seed=0, batch_size=2000):
    """Write to `path` the ridge regression of z on unit_shape(G(z)) (ridge_readout): a readout of a clip's shape,
    whatever its gain and DC offset, where the network's linear readout needs the clip at G's level."""
    kernel, bias = ridge_readout(generator, clips, ridge, seed, batch_size, heard=unit_shape)
    atomic_write(path, lambda tmp: np.savez(tmp, kernel=kernel, bias=bias))


def load_level_free_readout(inverse_path):
    """(kernel, bias) of the level-free readout beside the network at inverse_path, or None where there is none."""
    path = os.path.join(os.path.dirname(inverse_path), LEVEL_FREE_READOUT)
    if not os.path.isfile(path):
        return None
    with np.load(path) as data:
        return data['kernel'], data['bias']


def save_model(model, path):
    """Save a Keras model (with its optimizer state when compiled) atomically: a resume point."""
    atomic_write(path, model.save)


def save_inference_model(model, path):
    """Save a Keras model's architecture and weights, without its optimizer's state, atomically: what the
    scripts that use a trained model load (Adam's two moments would double or triple the file)."""
    inference = keras.Model.from_config(model.get_config())  # not compiled, unlike clone_model's copy
    inference.set_weights(model.get_weights())
    atomic_write(path, inference.save)


def load_json(path, default=None):
    if not os.path.isfile(path):
        return default
    with open(path) as f:
        return json.load(f)


class ResumableCheckpoint(keras.callbacks.Callback):
    """After each epoch: keep the best model by `monitor` (inference weights only), and the last model with its
    optimizer + epoch to resume from (`last.keras`, `state.json`).

    mode 'max' keeps the highest value of `monitor` (an accuracy), 'min' the lowest (a loss). With
    write False (every worker but the chief of a distributed run) it keeps count but writes nothing.
    """

    def __init__(self, folder, best_name, monitor='val_accuracy', mode='max', write=True):
        super().__init__()
        self.folder, self.monitor, self.sign, self.write = folder, monitor, 1 if mode == 'max' else -1, write
        self.best_path = os.path.join(folder, best_name)
        self.last_path = os.path.join(folder, 'last.keras')
        self.state_path = os.path.join(folder, 'state.json')
        self.state = load_json(self.state_path, {'epoch': 0, 'best': None})

    def resume(self, model):
        """The model to train (the last saved one, with its optimizer, if any) and its first epoch."""
        if os.path.isfile(self.last_path) and self.state['epoch'] > 0:
            last = keras.models.load_model(self.last_path)
            if [tuple(w.shape) for w in last.weights] != [tuple(w.shape) for w in model.weights]:
                raise UserError(f'{self.last_path} holds a model of another shape than the settings ask '
                                 f'for; pick another folder, or delete it to start afresh')
            print(f'resuming from {self.last_path} after epoch {self.state["epoch"]}')
            return last, self.state['epoch']
        self.state = {'epoch': 0, 'best': None}  # no resume point: the best so far is no longer a bar to pass
        return model, 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and (self.state['best'] is None or self.sign * (value - self.state['best']) > 0):
            self.state['best'] = float(value)
            if self.write:
                save_inference_model(self.model, self.best_path)
                print(f'\nepoch {epoch + 1}: {self.monitor} {value:.4f}, best so far: saved {self.best_path}')
        self.state['epoch'] = epoch + 1
        if self.write:
            save_model(self.model, self.last_path)
            save_json(self.state_path, self.state)
