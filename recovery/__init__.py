"""Latent vector recovery, above the models: recipe.py (the settings), network_start.py (the network's z and
its readout refinement), gauss_newton.py, lbfgs.py and losses.py (the refinements), recover.py (all of them,
batch by batch), profile.py (where the time goes); alignment.py (the shift search), tones.py (a clip's speed
and shift from the generator's tones) and detect.py (deepfake scores by recovery). Import from the modules:
this file imports nothing heavy."""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')  # keep TensorFlow's start-up chatter out of the output
