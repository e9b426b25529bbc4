"""Gauss-Newton (Levenberg-Marquardt) on the waveform residual G(z) - x: exact recovery of clips G can make."""
import numpy as np

from models.wavegan import LATENT_DIM, synthesize
from recovery.profile import Profile

CONVERGED_SNR = 95.0  # dB: a clip fitted this well has its exact z (float32's floor is near 140 dB)
HOPELESS_SNR = 5.0     # dB: below this after a Gauss-Newton step, G cannot make the clip (real speech)


def fit_snr(target, loss):
    """Each clip's SNR in dB, from its squared error `loss` against the clip `target` [N, 16384]."""
    energy = np.sum(np.asarray(target, np.float64) ** 2, axis=1) + 1e-12
    return 10 * np.log10(energy / (loss + 1e-30))


def gauss_newton(generator, target, z0, iterations, bounded=True, converged_snr=CONVERGED_SNR, patience=1,
                 hopeless_snr=HOPELESS_SNR, chord_steps=0, restarts=0, damping=1e-7, mask=None, profile=None, status=None,
                 affine=False):
    """Levenberg-Marquardt from z0 on each clip's residual G(z) - x; returns (z, each clip's SNR in dB).

    The generator's Jacobian is ill-conditioned, which stalls first-order methods; a Gauss-Newton step
    solves the local linear model exactly and converges quadratically near a zero-residual solution.
    Each clip has its own damping (relative to the largest eigenvalue of its J^T J), from `damping`,
    cut tenfold by every step that lowers its loss and raised tenfold by every step that does not: it
    must fall fast, or it swamps the small singular directions that carry most of the latent error.
    After each accepted step, up to chord_steps more reuse the same Jacobian (one generator call each
    instead of a hundred). Clips fitted to converged_snr dB stop, and so do clips still under
    hopeless_snr dB after `patience` steps (real speech, which G cannot make exactly).

    bounded keeps z in [-1, 1] by projected steps: a coordinate at the bound whose Newton step points
    outward is held there while the step is solved again for the free coordinates (clipping a step
    solved for all of them would leave the others where the held one would have moved). A clip left
    between hopeless_snr and converged_snr with coordinates at the bound (a local minimum of the bounded
    problem) starts again, up to `restarts` times, with those coordinates drawn anew inside the prior,
    and keeps its best fit. `status`, if given, is called with a line saying how far it is. A `mask` [N, 16384]
    of 0 and 1 leaves out of the fit the samples where it is 0 (those a shifted clip does not hold).
    With `affine`, each clip is fitted by gain * G(z) + offset, the best gain and offset for each z (see
    fit_gain_and_offset), so that a clip's level and DC offset do not count as misfit.
    """
    profile = profile or Profile()
    settings = dict(iterations=iterations, bounded=bounded, converged_snr=converged_snr, patience=patience,
                    hopeless_snr=hopeless_snr, chord_steps=chord_steps, first_damping=damping, profile=profile,
                    status=status, affine=affine)
    mask = np.ones_like(target) if mask is None else mask
    z = np.clip(z0, -1, 1) if bounded else z0.copy()
    z, loss = levenberg_marquardt(generator, target, z, mask=mask, **settings)
    for attempt in range(restarts if bounded else 0):
        snr = fit_snr(target, loss)
        stuck = np.flatnonzero((snr >= hopeless_snr) & (snr < converged_snr) & np.any(np.abs(z) >= 1, axis=1))
        if not len(stuck):
            break
        start = z[stuck].copy()
        for row, clip in zip(start, stuck):  # each clip's own stream: the same draw whatever else is in the batch
            at_bound = np.abs(row) >= 1
            row[at_bound] = np.random.default_rng([attempt, int(clip)]).uniform(-1, 1, at_bound.sum())
        again, again_loss = levenberg_marquardt(generator, target[stuck], start, mask=mask[stuck], **settings)
        better = again_loss < loss[stuck]
        z[stuck[better]], loss[stuck[better]] = again[better], again_loss[better]
    return z, fit_snr(target, loss)


def fit_gain_and_offset(target, fitted, mask):
    """Per clip, the (gain, offset) that bring `fitted` closest to `target` over `mask` (least squares)."""
    weight = mask.sum(axis=1) + 1e-12
    mean_f, mean_t = (fitted * mask).sum(axis=1) / weight, (target * mask).sum(axis=1) / weight
    centred_f, centred_t = (fitted - mean_f[:, None]) * mask, (target - mean_t[:, None]) * mask
    gain = (centred_f * centred_t).sum(axis=1) / ((centred_f ** 2).sum(axis=1) + 1e-30)
    return gain, mean_t - gain * mean_f


def misfit(fitted, target, mask, affine):
    """The residual of G(z) [N, 16384] against `target` over `mask`, and each clip's gain (1 unless `affine`,
    where G(z) is first given the gain and offset that fit it best)."""
    fitted = fitted.astype(np.float64)
    if not affine:
        return (fitted - target) * mask, np.ones(len(fitted))
    gain, offset = fit_gain_and_offset(target, fitted, mask)
    return (gain[:, None] * fitted + offset[:, None] - target) * mask, gain


def project_out_gain_and_offset(jac, fitted, mask, gain):
    """The Jacobian of the affine fit's residual (Kaufman's variable projection): gain * J with the
    directions of G(z) and of a constant, which the gain and offset absorb, projected out [N, T, 100]."""
    basis = np.stack([fitted * mask, mask], axis=2)  # [N, T, 2]
    q, _ = np.linalg.qr(basis)
    return gain[:, None, None] * (jac - q @ (q.transpose(0, 2, 1) @ jac))


def levenberg_marquardt(generator, target, z, iterations, bounded, converged_snr, patience, hopeless_snr, chord_steps,
                        first_damping, mask, profile, status=None, affine=False):
    """gauss_newton's iterations from z (inside the bounds): the z reached and each clip's squared error."""
    z = z.copy()
    with profile.stage('Gauss-Newton steps'):
        fitted = synthesize(generator, z, profile=profile)
        residual, gain = misfit(fitted, target, mask, affine)
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
        new_fitted = synthesize(generator, candidate, profile=profile)
        new_residual, new_gain = misfit(new_fitted, target[clips], mask[clips], affine)
        new_loss = np.sum(new_residual ** 2, axis=1)
        better = new_loss < loss[clips]
        index = clips[better]
        z[index], residual[index], loss[index] = candidate[better], new_residual[better], new_loss[better]
        fitted[index], gain[index] = new_fitted[better], new_gain[better]
        damping[index] = np.maximum(damping[index] / 10, 1e-12)
        return better

    for iteration in range(iterations):
        snr = fit_snr(target, loss)
        active = np.flatnonzero((snr < converged_snr) & ((iteration < patience) | (snr >= hopeless_snr)))
        if status:
            status(f'Gauss-Newton step {iteration + 1} of {iterations}: '
                   f'{int(np.sum(snr >= converged_snr))} of {len(z)} clips exact')
        if not len(active):
            break
        with profile.stage('Jacobians'):
            jac = generator.jacobian(z[active])
            jac *= mask[active][:, :, None]
            if affine:
                jac = project_out_gain_and_offset(jac, fitted[active].astype(np.float64), mask[active], gain[active])
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
                chord = chord[fit_snr(target[active[chord]], loss[active[chord]]) < converged_snr]
                if not len(chord):
                    break
                chord = chord[try_step(active[chord], jac[chord], jtj[chord], top[chord])]
    return z, loss
