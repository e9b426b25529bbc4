"""Latent vector recovery: the inverse-mapping network, L-BFGS on z, or both (hybrid)."""
import contextlib
import time

import numpy as np
import scipy.optimize
import tensorflow as tf
from tqdm import tqdm

from models.resnet import predict
from models.wavegan import LATENT_DIM
from utils.flags import RECOVERY_LOSSES
from utils.metrics import snr_db

METHODS = ('network', 'gradient', 'hybrid')


class Profile:
    """Where a recovery's time goes: seconds in each stage, and the generator passes it made, each counted
    per clip: forward (one clip's audio), tangent (one of the 100 directions a Jacobian pushes through the
    generator), backward (one clip's gradient)."""

    STAGES = ('network', 'readout refinement', 'Jacobians', 'Gauss-Newton steps', 'L-BFGS')

    def __init__(self):
        self.seconds = dict.fromkeys(self.STAGES, 0.0)
        self.passes = dict.fromkeys(('forward', 'tangent', 'backward'), 0)
        self.total = 0.0

    @contextlib.contextmanager
    def stage(self, name):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def count(self, kind, clips):
        self.passes[kind] += int(clips)

    def table(self, clips):
        """The breakdown as a markdown table, per clip, with the stages' share of the total."""
        rows = [f'| {name} | {seconds / clips:.4f} | {100 * seconds / max(self.total, 1e-12):.1f}% |'
                for name, seconds in self.seconds.items()]
        staged = sum(self.seconds.values())
        rows.append(f'| all stages | {staged / clips:.4f} | {100 * staged / max(self.total, 1e-12):.1f}% |')
        rows.append(f'| total (wall clock) | {self.total / clips:.4f} | 100% |')
        passes = ', '.join(f'{kind} {count / clips:.1f}' for kind, count in self.passes.items())
        return ('| stage | seconds per clip | share |\n|---|---|---|\n' + '\n'.join(rows) +
                f'\n\ngenerator passes per clip: {passes}\n')


def method_name(inverse_mapping, gradient):
    """The paper's two flags -> 'network', 'gradient' or 'hybrid' (both)."""
    if inverse_mapping and gradient:
        return 'hybrid'
    if gradient:
        return 'gradient'
    if inverse_mapping:
        return 'network'
    raise ValueError('at least one of inverse_mapping and gradient must be true')


def predict_z(network, audio):
    """The inverse-mapping network's z for each clip [N, 16384] -> [N, 100] (one batch, run eagerly)."""
    return predict(network, audio, batch_size=max(len(audio), 1)).astype(np.float32)


def refine_with_readout(network, generator, audio, z, steps, bounded=True, profile=None):
    """`steps` fixed-point steps z <- z + K (x - G(z)), K the network's linear readout: a global
    least-squares inverse of G applied to what G(z) still misses (a generator call a step, no gradients).

    A clip whose waveform error ends higher than it started keeps its first z, so real speech, which
    G cannot make and for which the linear step is no guide, is never fitted worse. (Judging each
    step instead stops synthesized clips early: 0.052 where the steps reach 0.027.) With the shipped
    models, four steps take the median latent MSE of 200 synthesized clips from 0.096 to 0.027. A
    network without a linear readout returns z unchanged (a copy, as always).
    """
    if not steps or 'linear_readout' not in [layer.name for layer in network.layers]:
        return z.copy()
    kernel = network.get_layer('linear_readout').get_weights()[0]
    refined = z.copy()
    residual = audio - synthesize(generator, refined, profile=profile)
    first_error = np.sum(residual ** 2, axis=1)
    for _ in range(steps):
        refined = refined + residual @ kernel
        if bounded:
            refined = np.clip(refined, -1, 1)
        residual = audio - synthesize(generator, refined, profile=profile)
    worse = np.sum(residual ** 2, axis=1) > first_error
    refined[worse] = z[worse]
    return refined.astype(np.float32)


CONVERGED_SNR = 95.0  # dB: a clip fitted this well has its exact z (float32's floor is near 140 dB)
HOPELESS_SNR = 5.0     # dB: below this after a Gauss-Newton step, G cannot make the clip (real speech)


def random_z(n, rng):
    return rng.uniform(-1, 1, (n, LATENT_DIM)).astype(np.float32)


def lbfgs(generator, loss_fn, target, z0, max_iter, bounded=True, profile=None):
    """Minimise sum_i loss(target_i, G(z_i)) over the z of all clips together with scipy L-BFGS-B.

    The clips' problems are independent, so one joint run costs one generator batch per step.
    bounded keeps z in WaveGAN's prior range [-1, 1] (the paper's code left z unbounded).
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

    bounds = [(-1.0, 1.0)] * z0.size if bounded else None
    start = np.clip(z0, -1, 1) if bounded else z0
    result = scipy.optimize.minimize(objective, start.reshape(-1).astype(np.float64), jac=True,
                                     method='L-BFGS-B', bounds=bounds,
                                     options=dict(maxiter=max_iter, maxfun=2 * max_iter,
                                                  ftol=1e-15, gtol=1e-12))
    return result.x.reshape(shape).astype(np.float32)


def gauss_newton(generator, target, z0, iterations, bounded=True, converged_snr=CONVERGED_SNR, patience=1,
                 hopeless_snr=HOPELESS_SNR,
                 chord_steps=0, restarts=0, damping=1e-7, profile=None):
    """Levenberg-Marquardt on the waveform residual G(z) - x: exact recovery of clips that G can make.

    The generator's Jacobian is ill-conditioned (many tiny singular values), which stalls first-order
    methods; a Gauss-Newton step solves the local linear model exactly and converges quadratically
    near a zero-residual solution. Each clip has its own damping (relative to the largest eigenvalue
    of its J^T J), from 1e-7, cut tenfold by every step that lowers its loss and raised tenfold by every
    Gauss-Newton step that does not: it must fall fast, or it swamps the small singular directions that
    carry most of the latent error. After each accepted step, up to chord_steps more reuse the same
    Jacobian (one generator call each instead of a hundred). Clips already fitted to converged_snr dB
    stop early, and so do clips still under hopeless_snr dB after `patience` steps (real speech, which G
    cannot make exactly).

    bounded keeps z in [-1, 1] by projected steps: a coordinate at the bound whose Newton step points
    outward is held there while the step is solved again, exactly, for the free coordinates (a step
    solved for all of them, then clipped, leaves the others where the held one would have moved, and
    traps it). A clip
    left between hopeless_snr and converged_snr with coordinates at the bound (a local minimum of the
    bounded problem) starts again, up to `restarts` times, with those coordinates drawn anew inside the
    prior (Lipton and Tripathi's stochastic clipping, as a restart), and keeps its best fit.
    """
    profile = profile or Profile()
    z = np.clip(z0, -1, 1) if bounded else z0.copy()
    z, loss = levenberg_marquardt(generator, target, z, iterations, bounded, converged_snr, patience, hopeless_snr,
                                  chord_steps, damping, profile)
    energy = np.sum(target.astype(np.float64) ** 2, axis=1) + 1e-12
    for attempt in range(restarts if bounded else 0):
        snr = 10 * np.log10(energy / (loss + 1e-30))
        stuck = np.flatnonzero((snr >= hopeless_snr) & (snr < converged_snr) & np.any(np.abs(z) >= 1, axis=1))
        if not len(stuck):
            break
        start = z[stuck].copy()
        for row, clip in zip(start, stuck):  # each clip's own stream: the same draw whatever else is in the batch
            at_bound = np.abs(row) >= 1
            row[at_bound] = np.random.default_rng([attempt, int(clip)]).uniform(-1, 1, at_bound.sum())
        again, again_loss = levenberg_marquardt(generator, target[stuck], start, iterations, bounded, converged_snr,
                                                patience, hopeless_snr, chord_steps, damping, profile)
        better = again_loss < loss[stuck]
        z[stuck[better]], loss[stuck[better]] = again[better], again_loss[better]
    return z


def levenberg_marquardt(generator, target, z, iterations, bounded, converged_snr, patience, hopeless_snr, chord_steps,
                        first_damping, profile):
    """gauss_newton's iterations from z (inside the bounds): the z reached and each clip's squared error."""
    z = z.copy()
    energy = np.sum(target.astype(np.float64) ** 2, axis=1) + 1e-12
    with profile.stage('Gauss-Newton steps'):
        residual = synthesize(generator, z, profile=profile).astype(np.float64) - target
    loss = np.sum(residual ** 2, axis=1)
    damping = np.full(len(z), first_damping)
    identity = np.eye(LATENT_DIM)

    def try_step(clips, jac, jtj, top):
        """A damped, projected step for each of `clips` from its Jacobian's normal equations, kept where it
        lowers the clip's loss (and its damping then falls); returns which clips it improved."""
        gradient = np.matmul(residual[clips][:, None], jac)[:, 0]
        current = z[clips].astype(np.float64)
        normal = jtj + (damping[clips] * top)[:, None, None] * identity
        step = -np.linalg.solve(normal, gradient[..., None])[..., 0]
        held = bounded & (((current >= 1) & (step > 0)) | ((current <= -1) & (step < 0)))
        if held.any():  # solve again for the others with those coordinates held where they are
            free = ~held
            normal = normal * free[:, :, None] * free[:, None, :] + identity * held[:, None, :]
            step = -np.linalg.solve(normal, (gradient * free)[..., None])[..., 0]
        candidate = current + step
        if bounded:
            candidate = np.clip(candidate, -1, 1)
        candidate = candidate.astype(np.float32)
        new_residual = synthesize(generator, candidate, profile=profile).astype(np.float64) - target[clips]
        new_loss = np.sum(new_residual ** 2, axis=1)
        better = new_loss < loss[clips]
        index = clips[better]
        z[index], residual[index], loss[index] = candidate[better], new_residual[better], new_loss[better]
        damping[index] = np.maximum(damping[index] / 10, 1e-12)
        return better

    for iteration in range(iterations):
        snr = 10 * np.log10(energy / (loss + 1e-30))
        active = np.flatnonzero((snr < converged_snr) & ((iteration < patience) | (snr >= hopeless_snr)))
        if not len(active):
            break
        with profile.stage('Jacobians'):
            jac = generator.jacobian(z[active])
            profile.count('tangent', LATENT_DIM * len(active))
            profile.count('forward', len(active))
            jtj = np.matmul(jac.transpose(0, 2, 1), jac)  # in float64: the small directions matter
            top = np.linalg.eigvalsh(jtj)[:, -1]
        with profile.stage('Gauss-Newton steps'):
            trying, improved = np.arange(len(active)), []
            for _ in range(6):  # retry, with more damping, the clips whose step did not lower their loss
                better = try_step(active[trying], jac[trying], jtj[trying], top[trying])
                damping[active[trying[~better]]] *= 10
                improved += list(trying[better])
                trying = trying[~better]
                if not len(trying):
                    break
            chord = np.array(improved, int)
            for _ in range(chord_steps):
                chord = chord[loss[active[chord]] * 10 ** (converged_snr / 10) > energy[active[chord]]]
                if not len(chord):
                    break
                chord = chord[try_step(active[chord], jac[chord], jtj[chord], top[chord])]
    return z, loss


def recover(audio, method, generator, loss_fn, network=None, max_iter=200, bounded=True,
            batch_size=32, seed=0, gauss_newton_iterations=0, fallback_snr=20.0, clip_ids=None, chord_steps=0,
            refine_steps=0, restarts=0, profile=None):
    """Recover z [N, 100] for clips [N, 16384] by 'network', 'gradient' or 'hybrid', batch_size clips at a time.

    The starting z (the network's, refined by refine_steps through its linear readout, or random) is
    refined by gauss_newton_iterations of Gauss-Newton on the waveform (each followed by up to
    chord_steps that reuse its Jacobian; with `restarts`, clips it leaves short of a fit start again from
    earlier points of the refinement, and clips stuck at the prior's bound up to `restarts` times), then, for the clips that are still below fallback_snr dB (clips G cannot make exactly, such
    as real speech), by max_iter iterations of L-BFGS on loss_fn from the starting z before any
    refinement: a waveform step is no start for a perceptual loss (from refined starts, hybrid's accuracy
    on 60 real clips fell from 0.68 to 0.53). With gauss_newton_iterations=0 every clip gets L-BFGS, as
    in the paper. With bounded, every z (the network's too) stays in [-1, 1]. Every step of a batch, the
    network's too, sees that batch alone, and the random start of clip i comes from the stream (seed,
    clip_ids[i]): a worker that recovers some of the batches gets for them exactly what a single run gets.
    A Profile given as `profile` collects the seconds of each stage and the generator passes.
    """
    if method not in METHODS:
        raise ValueError(f'unknown recovery method {method!r}: expected one of {METHODS}')
    profile = profile or Profile()
    started = time.perf_counter()
    ids = np.arange(len(audio)) if clip_ids is None else np.asarray(clip_ids)
    z = np.zeros((len(audio), LATENT_DIM), np.float32)
    progress = tqdm(total=len(audio), desc=f'recovering ({method})', unit='clip', leave=False)
    for first in range(0, len(audio), batch_size):
        batch = slice(first, first + batch_size)
        clips = audio[batch]
        if method == 'gradient':
            start = np.array([random_z(1, np.random.default_rng([seed, i]))[0] for i in ids[batch]])
            z_batch = start.copy()
        else:
            with profile.stage('network'):
                start = predict_z(network, clips)
            if bounded:  # WaveGAN's prior: projecting onto it never moves z away from a true z
                start = np.clip(start, -1, 1)
            with profile.stage('readout refinement'):
                z_batch = refine_with_readout(network, generator, clips, start, refine_steps, bounded, profile)
        unfit = np.full(len(clips), method != 'network')
        if method != 'network' and gauss_newton_iterations:
            progress.set_postfix_str(f'Gauss-Newton on {len(clips)} clips')
            z_batch = gauss_newton(generator, clips, z_batch, gauss_newton_iterations, bounded,
                                   chord_steps=chord_steps, restarts=restarts, profile=profile)
            with profile.stage('Gauss-Newton steps'):
                snr = snr_db(clips, synthesize(generator, z_batch, profile=profile))
            if method == 'hybrid' and restarts:
                z_batch, snr = start_again_from_earlier_starts(
                    network, generator, clips, start, z_batch, snr, refine_steps, gauss_newton_iterations, bounded,
                    chord_steps, restarts, profile)
            unfit = snr < fallback_snr
        if unfit.any() and max_iter:
            progress.set_postfix_str(f'L-BFGS on {int(unfit.sum())} clips')
            with profile.stage('L-BFGS'):
                z_batch[unfit] = lbfgs(generator, loss_fn, clips[unfit], start[unfit], max_iter, bounded, profile)
        z[batch] = z_batch
        progress.update(len(clips))
    progress.close()
    profile.total += time.perf_counter() - started
    return z


def start_again_from_earlier_starts(network, generator, clips, start, z, snr, refine_steps, iterations, bounded,
                                    chord_steps, restarts, profile):
    """Clips that Gauss-Newton from the refined z left short of CONVERGED_SNR start again from the network's
    z refined by a quarter of the steps, then from the network's z as it is, where that start already fits
    the clip above HOPELESS_SNR (so real speech costs no Jacobian here); each clip keeps its best fit.
    The readout's steps can lead a clip into a wrong basin that an earlier point of them avoids."""
    z, snr = z.copy(), snr.copy()
    for steps in (refine_steps // 4, 0):
        stuck = np.flatnonzero(snr < CONVERGED_SNR)
        if not len(stuck) or steps == refine_steps:
            continue
        with profile.stage('readout refinement'):
            other = refine_with_readout(network, generator, clips[stuck], start[stuck], steps, bounded, profile)
            promising = snr_db(clips[stuck], synthesize(generator, other, profile=profile)) >= HOPELESS_SNR
        stuck, other = stuck[promising], other[promising]
        if not len(stuck):
            continue
        again = gauss_newton(generator, clips[stuck], other, iterations, bounded, chord_steps=chord_steps,
                             restarts=restarts, profile=profile)
        with profile.stage('Gauss-Newton steps'):
            again_snr = snr_db(clips[stuck], synthesize(generator, again, profile=profile))
        better = again_snr > snr[stuck]
        z[stuck[better]], snr[stuck[better]] = again[better], again_snr[better]
    return z, snr


def synthesize(generator, z, batch_size=64, profile=None):
    """G(z) in batches, as numpy [N, 16384]."""
    if profile:
        profile.count('forward', len(z))
    return np.concatenate([generator(z[i:i + batch_size]).numpy() for i in range(0, len(z), batch_size)])


def recovery_objective(kind, classifier=None, perceptual_layers=(), perceptual_weight=1.0, spectral_weight=1.0):
    """The per-clip loss L-BFGS minimises: 'perceptual' (log-spectral + classifier activations),
    'waveform' (sum of squared errors) or 'paper' (perceptual + STFT + waveform MAE)."""
    from utils.losses import paper_recovery_loss, perceptual_model, perceptual_recovery_loss, waveform_sse
    if kind == 'waveform':
        return waveform_sse
    if kind == 'paper':
        return paper_recovery_loss(perceptual_model(classifier, perceptual_layers), perceptual_weight)
    if kind == 'perceptual':
        return perceptual_recovery_loss(perceptual_model(classifier, perceptual_layers), spectral_weight,
                                        perceptual_weight)
    raise ValueError(f'unknown recovery loss {kind!r}: expected one of {RECOVERY_LOSSES}')
