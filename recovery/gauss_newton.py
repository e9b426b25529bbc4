"""Gauss-Newton (Levenberg-Marquardt) on the waveform residual G(z) - x: exact recovery of clips G can make."""
import dataclasses
from typing import NamedTuple

import numpy as np

from models.wavegan import LATENT_DIM, synthesize
from recovery.profile import Profile
from utils.metrics import snr_from_energies

CONVERGED_SNR = 95.0  # dB: a float clip fitted this well has its exact z (float32's floor is near 140 dB)
HOPELESS_SNR = 5.0     # dB: below this after a Gauss-Newton step, G cannot make the clip (real speech)
FLOOR_MARGIN = 2.0     # a fit within this factor of the noise its clip's file added is at that floor,
SETTLED = 1e-3         # and done there once a Newton step would lower its misfit by less than this share (converged)


@dataclasses.dataclass(frozen=True)
class Fit:
    """How Gauss-Newton fits G(z) to clips: every setting of one fit, passed whole."""
    iterations: int = 48            # Jacobians a clip at most (a quiet clip can climb slowly; stall stops the others)
    chord_steps: int = 8            # after each Jacobian, steps that reuse it (one generator call each, not 100)
    restarts: int = 0               # clips stuck at the prior's bound start again, those coordinates redrawn
    bounded_z: bool = True          # keep z in [-1, 1], WaveGAN's prior, by projected steps
    enough_snr: float = CONVERGED_SNR  # dB: a clip fitted this well is done, whatever its noise floor
    hopeless_snr: float = HOPELESS_SNR  # dB: a clip still under this after `patience` Jacobians stops
    patience: int = 1
    stall: float = 0.05             # a Jacobian lowering a clip's misfit by less than this share stops it (0: never; see settling)
    damping: float = 1e-7           # Levenberg-Marquardt's first damping, relative to J^T J's largest eigenvalue
    affine: bool = True             # fit gain * G(z) + offset, the best gain and offset for each z

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


class Fitted(NamedTuple):
    """What a fit reached for each clip: z, its SNR in dB, the gain and offset of gain * G(z) + offset, and
    whether the clip is done (its misfit at its noise floor)."""
    z: np.ndarray
    snr: np.ndarray
    gain: np.ndarray
    offset: np.ndarray
    done: np.ndarray

    def take(self, index):
        return Fitted(*(field[index] for field in self))

    def put(self, index, other):
        """This fit with the clips at `index` replaced by `other`'s (a copy)."""
        fields = [field.copy() for field in self]
        for field, new in zip(fields, other):
            field[index] = new
        return Fitted(*fields)


def fit_snr(target, loss):
    """Each clip's SNR in dB, from its squared error `loss` against the clip `target` [N, 16384]."""
    return snr_from_energies(np.sum(np.asarray(target, np.float64) ** 2, axis=1), loss)


class Floors(NamedTuple):
    """Where each clip's fit may stop: `enough`, the squared error enough_snr dB under the clip, and `noise`, the
    squared error that the noise its file added leaves over the fitted samples (0 for float clips)."""
    enough: np.ndarray
    noise: np.ndarray

    def done(self, loss, settled):
        """Clips fitted to `enough`, or settled (converged) within FLOOR_MARGIN of their noise."""
        return (loss <= self.enough) | (settled & self.near(loss))

    def near(self, loss, index=slice(None)):
        """Whether the misfits `loss` of clips `index` are within FLOOR_MARGIN of their noise."""
        return loss <= FLOOR_MARGIN * self.noise[index]

    def take(self, index):
        return Floors(self.enough[index], self.noise[index])


def floors_of(target, mask, floor, enough_snr):
    """The Floors of clips `target` fitted over `mask`, `floor` [N] being the variance per sample of the noise their
    files added (None: float clips; NaN: a lossy file's, unknown, so that its clip is done where its fit settles)."""
    floor = np.zeros(len(target)) if floor is None else np.asarray(floor, np.float64)
    noise = mask.sum(axis=1) * np.where(np.isnan(floor), np.inf, floor)
    return Floors(np.sum(np.asarray(target, np.float64) ** 2, axis=1) * 10 ** (-enough_snr / 10), noise)


def gauss_newton(generator, target, z0, fit, *, mask=None, floor=None, profile=None, status=None):
    """Levenberg-Marquardt from z0 on each clip's residual G(z) - x, by the settings `fit`: a Fitted.

    The generator's Jacobian is ill-conditioned, which stalls first-order methods; a Gauss-Newton step
    solves the local linear model exactly and converges quadratically near a zero-residual solution.
    Each clip has its own damping (relative to the largest eigenvalue of its J^T J), from fit.damping,
    cut tenfold by every step that lowers its loss and raised tenfold by every step that does not: it
    must fall fast, or it swamps the small singular directions that carry most of the latent error.
    After each accepted step, up to fit.chord_steps more reuse the same Jacobian.

    A clip is done when it is fitted to fit.enough_snr dB (float clips, whose z is then exact), or when its
    misfit is within FLOOR_MARGIN of the noise its file added and a Newton step would no longer lower it (SETTLED;
    told by one backward pass at the z its chord steps reach, with the last Jacobian's normal equations): `floor`
    [N] is that noise's variance per sample (a 16-bit file's rounding; 0 or None for float clips; NaN for a lossy
    file's, done where its fit stalls). A clip whose Jacobian lowers its misfit by less than fit.stall stops there,
    done or not, unless it is near its known floor; so do clips still under fit.hopeless_snr dB after fit.patience
    Jacobians (real speech, which G cannot make).

    fit.bounded_z keeps z in [-1, 1] by projected steps: a coordinate at the bound whose Newton step points
    outward is held there while the step is solved again for the free coordinates. A clip left above
    hopeless_snr but not done, with coordinates at the bound (a local minimum of the bounded problem), starts
    again, up to fit.restarts times, with those coordinates drawn anew inside the prior, and keeps its best fit.
    `status`, if given, is called with a line saying how far it is. A `mask` [N, 16384] of 0 and 1 leaves out of
    the fit the samples where it is 0 (those a shifted clip does not hold). With fit.affine, each clip is fitted
    by gain * G(z) + offset, the best gain and offset for each z (see fit_gain_and_offset).
    """
    profile = profile or Profile()
    mask = np.ones_like(target) if mask is None else mask
    floors = floors_of(target, mask, floor, fit.enough_snr)
    z = np.clip(z0, -1, 1) if fit.bounded_z else z0.copy()
    z, loss, gain, offset, settled = levenberg_marquardt(generator, target, z, fit, mask, floors, profile, status)
    for attempt in range(fit.restarts if fit.bounded_z else 0):
        snr = fit_snr(target, loss)
        stuck = np.flatnonzero((snr >= fit.hopeless_snr) & ~floors.done(loss, settled)
                               & np.any(np.abs(z) >= 1, axis=1))
        if not len(stuck):
            break
        start = z[stuck].copy()
        for row, clip in zip(start, stuck):  # each clip's own stream: the same draw whatever else is in the batch
            at_bound = np.abs(row) >= 1
            row[at_bound] = np.random.default_rng([attempt, int(clip)]).uniform(-1, 1, at_bound.sum())
        again = levenberg_marquardt(generator, target[stuck], start, fit, mask[stuck], floors.take(stuck), profile,
                                    status)
        better = again[1] < loss[stuck]
        for field, new in zip((z, loss, gain, offset, settled), again):
            field[stuck[better]] = new[better]
    return Fitted(z, fit_snr(target, loss), gain, offset, floors.done(loss, settled))


def fit_gain_and_offset(target, fitted, mask):
    """Per clip, the (gain, offset) that bring `fitted` closest to `target` over `mask` (least squares)."""
    weight = mask.sum(axis=1) + 1e-12
    mean_f, mean_t = (fitted * mask).sum(axis=1) / weight, (target * mask).sum(axis=1) / weight
    centred_f, centred_t = (fitted - mean_f[:, None]) * mask, (target - mean_t[:, None]) * mask
    gain = (centred_f * centred_t).sum(axis=1) / ((centred_f ** 2).sum(axis=1) + 1e-30)
    return gain, mean_t - gain * mean_f


def misfit(fitted, target, mask, affine):
    """(the residual of G(z) [N, 16384] against `target` over `mask`, each clip's gain, each clip's offset): the
    gain and offset are 1 and 0 unless `affine`, where G(z) is first given those that fit it best."""
    fitted = fitted.astype(np.float64)
    if not affine:
        return (fitted - target) * mask, np.ones(len(fitted)), np.zeros(len(fitted))
    gain, offset = fit_gain_and_offset(target, fitted, mask)
    return (gain[:, None] * fitted + offset[:, None] - target) * mask, gain, offset


def masked_snr(generator, target, z, mask, affine=True, profile=None):
    """Each clip's SNR in dB of G(z) (with its best gain and offset when `affine`) against `target` over `mask`."""
    residual = misfit(synthesize(generator, z, profile=profile), target, mask, affine)[0]
    return fit_snr(target * mask, np.sum(residual ** 2, axis=1))


class Linearization(NamedTuple):
    """A fit's linear model at one z, for the clips it was made for: the masked Jacobian J [n, T, 100] in float64,
    and, with affine, the directions the gain and offset absorb (an orthonormal basis q [n, T, 2] of G(z) and of
    a constant over the mask) with q^T J [n, 2, 100] and the gain at z. Kaufman's variable projection: the affine
    fit's Jacobian is gain * (J - q q^T J), used through its normal equations, never formed."""
    jac: np.ndarray
    q: np.ndarray = None
    qj: np.ndarray = None
    gain: np.ndarray = None

    def normal(self):
        """Each clip's J^T J of the (projected) model [n, 100, 100], in float64: the small directions matter."""
        jtj = np.matmul(self.jac.transpose(0, 2, 1), self.jac)
        if self.q is None:
            return jtj
        return self.gain[:, None, None] ** 2 * (jtj - np.matmul(self.qj.transpose(0, 2, 1), self.qj))

    def gradient(self, residual, index):
        """J^T r of the (projected) model of each clip `index` (rows of this Linearization), for its residual r
        [len(index), T]; clip by clip, so that no Jacobian is copied."""
        grad = np.stack([row @ self.jac[i] for row, i in zip(residual, index)])
        if self.q is None:
            return grad
        along = np.stack([(row @ self.q[i]) @ self.qj[i] for row, i in zip(residual, index)])
        return self.gain[index, None] * (grad - along)


def linearize(generator, z, fitted, mask, gain, affine):
    """The Linearization of the fit at z (fitted = G(z), gain its affine gain)."""
    jac = generator.jacobian(z)
    jac *= mask[:, :, None]
    if not affine:
        return Linearization(jac)
    first = fitted * mask
    first /= np.linalg.norm(first, axis=1, keepdims=True) + 1e-30
    second = mask - np.sum(mask * first, axis=1, keepdims=True) * first  # the constant, less its part along G(z)
    second /= np.linalg.norm(second, axis=1, keepdims=True) + 1e-30
    q = np.stack([first, second], axis=2)
    return Linearization(jac, q, np.matmul(q.transpose(0, 2, 1), jac), gain)


def settling(after, before, floors, index, stall):
    """(settled, stalled) of clips `index` after a Jacobian took their misfits from `before` to `after`. Settled: near
    their noise floor and lowered by less than SETTLED (a lossy clip, whose floor is unknown: by less than `stall`).
    Stalled: lowered by less than `stall` (0: never), unless near a known floor, where a fit goes on until it settles
    (its last steps are small: a stale chord step's failure says nothing of where the fit will end)."""
    near, known = floors.near(after, index), np.isfinite(floors.noise[index])
    settled = near & (after > (1 - np.where(known, SETTLED, max(SETTLED, stall))) * before)
    return settled, (after > (1 - stall) * before) & ~(near & known) if stall else np.zeros(len(after), bool)


def levenberg_marquardt(generator, target, z, fit, mask, floors, profile, status=None):
    """gauss_newton's iterations from z (inside the bounds): (z reached, each clip's squared error, gain, offset,
    whether it settled at its noise floor)."""
    z = z.copy()
    with profile.stage('Gauss-Newton steps'):
        fitted = synthesize(generator, z, profile=profile)
        residual, gain, offset = misfit(fitted, target, mask, fit.affine)
    loss = np.sum(residual ** 2, axis=1)
    damping = np.full(len(z), fit.damping)
    stalled, settled = np.zeros(len(z), bool), np.zeros(len(z), bool)
    drop = np.ones(len(z))  # the share of its misfit that each clip's last accepted step took off
    identity = np.eye(LATENT_DIM)

    def newton_step(clips, jtj, top, gradient):
        """Each of `clips`' damped Newton step from its normal equations `jtj` and `gradient`, projected: a
        coordinate at the bound whose step points outward is held there, the step solved again for the others."""
        current = z[clips].astype(np.float64)
        normal = jtj + (damping[clips] * top)[:, None, None] * identity
        step = -np.linalg.solve(normal, gradient[..., None])[..., 0]
        held = fit.bounded_z & (((current >= 1) & (step > 0)) | ((current <= -1) & (step < 0)))
        if held.any():
            free = ~held
            normal = normal * free[:, :, None] * free[:, None, :] + identity * held[:, None, :]
            step = -np.linalg.solve(normal, (gradient * free)[..., None])[..., 0]
        return step

    def try_step(clips, model, rows, jtj, top):
        """A step for each of `clips` from its Linearization (its `rows` of `model`), kept where it lowers the clip's
        loss (and its damping then falls); returns which it improved."""
        candidate = z[clips].astype(np.float64) + newton_step(clips, jtj, top, model.gradient(residual[clips], rows))
        if fit.bounded_z:
            candidate = np.clip(candidate, -1, 1)
        candidate = candidate.astype(np.float32)
        new_fitted = synthesize(generator, candidate, profile=profile)
        new_residual, new_gain, new_offset = misfit(new_fitted, target[clips], mask[clips], fit.affine)
        new_loss = np.sum(new_residual ** 2, axis=1)
        better = new_loss < loss[clips]
        index = clips[better]
        drop[index] = 1 - new_loss[better] / loss[index]
        z[index], residual[index], loss[index] = candidate[better], new_residual[better], new_loss[better]
        fitted[index], gain[index], offset[index] = new_fitted[better], new_gain[better], new_offset[better]
        damping[index] = np.maximum(damping[index] / 10, 1e-12)
        return better

    def predicted_drop(clips, jtj, top):
        """The share of each clip's misfit that a Newton step would take off, by the exact gradient at z (one
        backward pass: gain J(z)^T r, the gain and offset being the best for z) and the last Jacobian's normal
        equations: whether a clip near its floor has settled, without another Jacobian to find out."""
        profile.count('backward', len(clips))
        gradient = gain[clips, None] * generator.pullback(z[clips], residual[clips])
        step = newton_step(clips, jtj, top, gradient)
        change = 2 * np.sum(gradient * step, axis=1) + np.einsum('ni,nij,nj->n', step, jtj, step)
        return -change / loss[clips]

    for iteration in range(fit.iterations):
        snr = fit_snr(target, loss)
        done = floors.done(loss, settled)
        active = np.flatnonzero(~done & ~stalled & ((iteration < fit.patience) | (snr >= fit.hopeless_snr)))
        if status:
            status(f'Gauss-Newton step {iteration + 1} of {fit.iterations}: {int(np.sum(done))} of {len(z)} clips done')
        if not len(active):
            break
        before = loss[active].copy()
        with profile.stage('Jacobians'):
            model = linearize(generator, z[active], fitted[active].astype(np.float64), mask[active], gain[active],
                              fit.affine)
            profile.count('tangent', LATENT_DIM * len(active))
            profile.count('forward', len(active))
            jtj = model.normal()
            top = np.linalg.eigvalsh(jtj)[:, -1]
        with profile.stage('Gauss-Newton steps'):
            trying, improved = np.arange(len(active)), []
            for _ in range(6):  # retry, with more damping, the clips whose step did not lower their loss
                better = try_step(active[trying], model, trying, jtj[trying], top[trying])
                damping[active[trying[~better]]] *= 10
                drop[active[trying[~better]]] = 0
                improved += list(trying[better])
                trying = trying[~better]
                if not len(trying):
                    break
            chord = np.array(improved, int)
            for _ in range(fit.chord_steps):  # while they still fall, short of done
                at = active[chord]
                chord = chord[(loss[at] > floors.enough[at]) & ~(floors.near(loss[at], at) & (drop[at] < SETTLED))]
                if not len(chord):
                    break
                better = try_step(active[chord], model, chord, jtj[chord], top[chord])
                drop[active[chord[~better]]] = 0
                chord = chord[better]
        settled[active], stalled[active] = settling(loss[active], before, floors, active, fit.stall)
        near = np.flatnonzero(~settled[active] & floors.near(loss[active], active) & np.isfinite(floors.noise[active]))
        if len(near):  # near a known floor: settled if a fresh Newton step would lower the misfit by under SETTLED
            with profile.stage('Gauss-Newton steps'):
                settled[active[near]] = predicted_drop(active[near], jtj[near], top[near]) < SETTLED
    return z, loss, gain, offset, settled
