"""Inception score of a WaveGAN generator's samples, measured with the shipped digit classifier, with what
makes it up: how many samples are heard as each digit, and the entropies whose difference it exponentiates.

    python benchmarks/generator_quality.py --generator_dir=checkpoint --num_samples=1000
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from utils.flags import configure

# -----------------------------------------------------------------------------
generator_dir = 'checkpoint'
classifier_path = 'classifier_checkpoint/classifier.keras'
num_samples = 1000
splits = 1
seed = 0
# -----------------------------------------------------------------------------

def main():
    """The script's work, with the settings above (after the command line's overrides)."""
    import numpy as np

    from models.resnet import load_classifier
    from models.tf1_loader import load_generator
    from utils.metrics import digits_heard, inception_score, prediction_entropies
    from models.wavegan import random_z, synthesize

    generator = load_generator(generator_dir)
    classifier = load_classifier(classifier_path)
    audio = synthesize(generator, random_z(num_samples, np.random.default_rng(seed)))
    probabilities = classifier.predict(audio, batch_size=100, verbose=0)
    print(f'inception score {inception_score(probabilities, splits):.3f} over {num_samples} samples of {generator_dir}')
    print(f'predicted digits: {digits_heard(probabilities)}')
    marginal, per_clip = prediction_entropies(probabilities)
    print(f'entropy of the mean prediction {marginal:.3f} nats (ten digits equally: {np.log(10):.3f}); mean entropy of a '
          f'prediction {per_clip:.3f}; all ten digits at this clarity would score {np.exp(np.log(10) - per_clip):.2f}')


if __name__ == '__main__':
    configure(globals())
    main()
