"""The recovery recipe: every setting of how z is recovered, declared once, passed whole to `recover`.

Each field is also a command-line flag of every script that holds a Recipe (`--max_iter=100`), and
the presets `--config=paper_recovery` and `--config=paper` set the paper's values.
"""
import dataclasses

from recovery.gauss_newton import Fit
from utils.flags import PAPER_RECOVERY, FlagError, name_list

METHODS = ('network', 'gradient', 'hybrid')
RECOVERY_LOSSES = ('perceptual', 'waveform', 'paper')


@dataclasses.dataclass(frozen=True)
class Recipe:
    level: bool = True                  # fit gain * G(z) + offset, each clip first brought to G's level (the paper fed clips as they were)
    find_shift: bool = True             # first search the shift that places each clip where G makes its words (reported with z)
    refine_steps: int = 32              # steps z += K (x - G(z)) on the network's z, K its linear readout (paper: 0)
    gauss_newton_iterations: int = 48   # at most this many Jacobians a clip for Gauss-Newton on the waveform (0: L-BFGS only, as the paper)
    chord_steps: int = 8                # after each Jacobian, steps that reuse it (one generator call each, not 100)
    restarts: int = 5                   # clips left stuck at the prior's bound start again, those coordinates redrawn
    fallback_snr: float = 20.0          # clips Gauss-Newton leaves below this SNR (dB) get L-BFGS from the start z
    max_iter: int = 200                 # L-BFGS iterations, for clips Gauss-Newton cannot fit exactly
    bounded_z: bool = True              # keep z in [-1, 1], WaveGAN's prior, in every stage: readout, Gauss-Newton, L-BFGS (the paper did not)
    recovery_loss: str = 'perceptual'   # L-BFGS loss: 'perceptual' (log-spectral + classifier), 'waveform' or 'paper'
    perceptual_layers: str = 'stem,stage1,stage2,stage3,stage4,pool'  # classifier layers in that loss
    perceptual_weight: float = 30.0     # weight of the classifier activations' distance in that loss
    spectral_weight: float = 1.0        # weight of the log-spectral MSE in the 'perceptual' loss

    def __post_init__(self):
        if self.recovery_loss not in RECOVERY_LOSSES:
            raise FlagError(f'--recovery_loss={self.recovery_loss}: expected one of {", ".join(RECOVERY_LOSSES)}')
        if self.max_iter < 0:
            raise FlagError('--max_iter must be at least 0')
        if min(self.gauss_newton_iterations, self.chord_steps, self.refine_steps, self.restarts) < 0:
            raise FlagError('--gauss_newton_iterations, --chord_steps, --refine_steps and --restarts must be at least 0')

    @property
    def fit(self):
        """Gauss-Newton's settings (recovery/gauss_newton.py) in this recipe."""
        return Fit(iterations=self.gauss_newton_iterations, chord_steps=self.chord_steps, restarts=self.restarts,
                   bounded_z=self.bounded_z, affine=self.level)

    @property
    def layers(self):
        return name_list(self.perceptual_layers)

    @property
    def needs_classifier(self):
        return self.max_iter > 0 and self.recovery_loss != 'waveform'

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def plan(self, method, clips, what, batch_size):
        """The line a script prints before it recovers `clips` clips (`what`: 'clips of FOLDER') by `method`."""
        return (f'recovering {clips} {what} by {method}, in {-(-clips // batch_size)} batches of up to {batch_size}: '
                f'{self.describe(method)}')

    def describe(self, method):
        """One line on what recovering by `method` with this recipe will do."""
        start = {'network': "the network's z", 'gradient': 'a random z', 'hybrid': "the network's z"}[method]
        steps = [start + (f' refined by {self.refine_steps} readout steps' if method != 'gradient' and self.refine_steps
                          else '')]
        if self.find_shift:
            steps.insert(0, 'each clip placed where G fits it' if method != 'gradient'
                         else "each clip's word moved to where G starts words")
        if method != 'network' and self.gauss_newton_iterations:
            steps.append(f'Gauss-Newton on the waveform (up to {self.gauss_newton_iterations} Jacobians a clip'
                         + (f', {self.restarts} restarts' if self.restarts else '') + ')')
            if self.max_iter:
                steps.append(f'{self.max_iter} L-BFGS iterations on the {self.recovery_loss} loss for clips it leaves '
                             f'under {self.fallback_snr:g} dB' + (', words it cannot approach moved to where G starts'
                                                                  ' words' if self.find_shift else ''))
        elif method != 'network' and self.max_iter:
            steps.append(f'{self.max_iter} L-BFGS iterations on the {self.recovery_loss} loss')
        return ', then '.join(steps)


PAPER = Recipe(**PAPER_RECOVERY)  # the paper's recipe (README, "Differences from the paper")


def method_name(inverse_mapping, gradient):
    """The paper's two flags -> 'network', 'gradient' or 'hybrid' (both)."""
    if inverse_mapping and gradient:
        return 'hybrid'
    if gradient:
        return 'gradient'
    if inverse_mapping:
        return 'network'
    raise FlagError('--inverse_mapping and --gradient are both False: nothing would recover z')
