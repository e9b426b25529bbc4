"""Inception score of a WaveGAN generator's samples, measured with the shipped digit classifier.

    python benchmarks/generator_quality.py --checkpoint_dir=checkpoint --num_samples=1000
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils.flags import configure

# -----------------------------------------------------------------------------
checkpoint_dir = 'checkpoint'
classifier_path = 'classifier_checkpoint/classifier.keras'
num_samples = 1000
splits = 1
seed = 0
# -----------------------------------------------------------------------------

configure(globals())

import numpy as np

from models.resnet import load_classifier
from models.tf1_loader import load_generator
from utils.metrics import digits_heard, inception_score
from utils.recovery import random_z, synthesize

generator = load_generator(checkpoint_dir)
classifier = load_classifier(classifier_path)
audio = synthesize(generator, random_z(num_samples, np.random.default_rng(seed)))
probabilities = classifier.predict(audio, batch_size=100, verbose=0)
print(f'inception score {inception_score(probabilities, splits):.3f} over {num_samples} samples of {checkpoint_dir}')
print(f'predicted digits: {digits_heard(probabilities)}')
