"""Pieces shared by the training scripts: resumable Keras checkpoints and the ResNet settings."""
import json
import os

import keras

from models.resnet import resnet
from utils.audio import atomic_write, save_text
from utils.flags import int_list


def build_resnet(settings, outputs, output_activation=None, name='resnet'):
    """The ResNet that a script's settings describe (widths, blocks, stem, features)."""
    return resnet(outputs, output_activation, widths=int_list(settings['resnet_widths']),
                  blocks=int_list(settings['resnet_blocks']), stem=settings['resnet_stem'],
                  features=settings['features'], feature_channels=settings['feature_channels'],
                  normalize=settings['peak_normalize'], name=name)


def save_model(model, path):
    """Save a Keras model (with its optimizer state when compiled) atomically."""
    atomic_write(path, model.save)


def save_json(path, data):
    save_text(path, json.dumps(data, indent=2))


def load_json(path, default=None):
    if not os.path.isfile(path):
        return default
    with open(path) as f:
        return json.load(f)


class ResumableCheckpoint(keras.callbacks.Callback):
    """After each epoch: keep the best model by `monitor`, and the last model + epoch to resume from.

    mode 'max' keeps the highest value of `monitor` (an accuracy), 'min' the lowest (a loss).
    """

    def __init__(self, folder, best_name, monitor='val_accuracy', mode='max'):
        super().__init__()
        self.folder, self.monitor, self.sign = folder, monitor, 1 if mode == 'max' else -1
        self.best_path = os.path.join(folder, best_name)
        self.last_path = os.path.join(folder, 'last.keras')
        self.state_path = os.path.join(folder, 'state.json')
        self.state = load_json(self.state_path, {'epoch': 0, 'best': None})

    def resume(self, model):
        """The model to train (the last saved one, with its optimizer, if any) and its first epoch."""
        if os.path.isfile(self.last_path) and self.state['epoch'] > 0:
            last = keras.models.load_model(self.last_path)
            if [tuple(w.shape) for w in last.weights] != [tuple(w.shape) for w in model.weights]:
                raise SystemExit(f'error: {self.last_path} holds a model of another shape than the settings ask '
                                 f'for; pick another folder, or delete it to start afresh')
            print(f'resuming from {self.last_path} after epoch {self.state["epoch"]}')
            return last, self.state['epoch']
        return model, 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and (self.state['best'] is None or self.sign * (value - self.state['best']) > 0):
            self.state['best'] = float(value)
            save_model(self.model, self.best_path)
            print(f'\nepoch {epoch + 1}: {self.monitor} {value:.4f}, best so far: saved {self.best_path}')
        save_model(self.model, self.last_path)
        self.state['epoch'] = epoch + 1
        save_json(self.state_path, self.state)
