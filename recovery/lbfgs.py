"""L-BFGS-B on z for a differentiable loss between each clip and G(z): recovery of clips G cannot make."""
import numpy as np
import scipy.optimize
import tensorflow as tf

from models.wavegan import LATENT_DIM


def lbfgs(generator, loss_fn, target, z0, max_iter, bounded=True, profile=None, status=None):
    """Minimise sum_i loss(target_i, G(z_i)) over the z of all clips together with scipy L-BFGS-B.

    The clips' problems are independent, so one joint run costs one generator batch per step.
    bounded keeps z in WaveGAN's prior range [-1, 1] (the paper's code left z unbounded). `status`,
    if given, is called with a line saying the iteration reached.
    """
    target = tf.constant(target, tf.float32)
    shape = z0.shape

    @tf.function(input_signature=[tf.TensorSpec([None, LATENT_DIM], tf.float32)])
    def value_and_grad(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            loss = tf.reduce_sum(loss_fn(target, generator(z)))
        return loss, tape.gradient(loss, z)

    def objective(flat):
        if profile:
            profile.count('forward', shape[0]), profile.count('backward', shape[0])
        loss, grad = value_and_grad(tf.constant(flat.reshape(shape), tf.float32))
        return float(loss), grad.numpy().astype(np.float64).reshape(-1)

    iteration = [0]

    def show(_):
        iteration[0] += 1
        if status:
            status(f'L-BFGS iteration {iteration[0]} of {max_iter} on {shape[0]} clips')

    bounds = [(-1.0, 1.0)] * z0.size if bounded else None
    start = np.clip(z0, -1, 1) if bounded else z0
    result = scipy.optimize.minimize(objective, start.reshape(-1).astype(np.float64), jac=True,
                                     method='L-BFGS-B', bounds=bounds, callback=show,
                                     options=dict(maxiter=max_iter, maxfun=2 * max_iter,
                                                  ftol=1e-15, gtol=1e-12))
    return result.x.reshape(shape).astype(np.float32)
