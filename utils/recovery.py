"""Latent vector recovery: the inverse-mapping network, L-BFGS on z, or both (hybrid)."""
import numpy as np
import scipy.optimize
import tensorflow as tf
from tqdm import tqdm

from models.wavegan import LATENT_DIM

METHODS = ('network', 'gradient', 'hybrid')


def method_name(inverse_mapping, gradient):
    """The paper's two flags -> 'network', 'gradient' or 'hybrid' (both)."""
    if inverse_mapping and gradient:
        return 'hybrid'
    if gradient:
        return 'gradient'
    if inverse_mapping:
        return 'network'
    raise ValueError('at least one of inverse_mapping and gradient must be true')


def predict_z(network, audio, batch_size=64):
    """The inverse-mapping network's z for each clip [N, 16384] -> [N, 100]."""
    return network.predict(audio, batch_size=batch_size, verbose=0).astype(np.float32)


def random_z(n, rng):
    return rng.uniform(-1, 1, (n, LATENT_DIM)).astype(np.float32)


def lbfgs(generator, loss_fn, target, z0, max_iter, bounded=True):
    """Minimise sum_i loss(target_i, G(z_i)) over the z of all clips together with scipy L-BFGS-B.

    The clips' problems are independent, so one joint run costs one generator batch per step.
    bounded keeps z in WaveGAN's prior range [-1, 1] (the paper's code left z unbounded).
    """
    target = tf.constant(target, tf.float32)
    shape = z0.shape

    @tf.function(reduce_retracing=True)
    def value_and_grad(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            loss = tf.reduce_sum(loss_fn(target, generator(z)))
        return loss, tape.gradient(loss, z)

    def objective(flat):
        loss, grad = value_and_grad(tf.constant(flat.reshape(shape), tf.float32))
        return float(loss), grad.numpy().astype(np.float64).reshape(-1)

    bounds = [(-1.0, 1.0)] * z0.size if bounded else None
    start = np.clip(z0, -1, 1) if bounded else z0
    result = scipy.optimize.minimize(objective, start.reshape(-1).astype(np.float64), jac=True,
                                     method='L-BFGS-B', bounds=bounds,
                                     options=dict(maxiter=max_iter, maxfun=2 * max_iter,
                                                  ftol=1e-15, gtol=1e-12))
    return result.x.reshape(shape).astype(np.float32)


def recover(audio, method, generator, loss_fn, network=None, max_iter=200, bounded=True,
            batch_size=32, seed=0):
    """Recover z [N, 100] for clips [N, 16384] by 'network', 'gradient' or 'hybrid'."""
    if method not in METHODS:
        raise ValueError(f'unknown recovery method {method!r}: expected one of {METHODS}')
    if method in ('network', 'hybrid'):
        z = predict_z(network, audio)
    else:
        z = random_z(len(audio), np.random.default_rng(seed))
    if method == 'network':
        return z
    chunks = range(0, len(audio), batch_size)
    for start in tqdm(chunks, desc=f'L-BFGS ({method})', unit='batch', leave=False, disable=len(chunks) < 2):
        part = slice(start, start + batch_size)
        z[part] = lbfgs(generator, loss_fn, audio[part], z[part], max_iter, bounded)
    return z


def synthesize(generator, z, batch_size=64):
    """G(z) in batches, as numpy [N, 16384]."""
    return np.concatenate([generator(z[i:i + batch_size]).numpy() for i in range(0, len(z), batch_size)])


def recovery_objective(kind, classifier=None, perceptual_layers=(), perceptual_weight=1.0):
    """The per-clip loss L-BFGS minimises: 'waveform' (sum of squared errors) or the paper's."""
    from utils.losses import paper_recovery_loss, perceptual_model, waveform_sse
    if kind == 'waveform':
        return waveform_sse
    if kind == 'paper':
        return paper_recovery_loss(perceptual_model(classifier, perceptual_layers), perceptual_weight)
    raise ValueError(f'unknown recovery loss {kind!r}: expected waveform or paper')
