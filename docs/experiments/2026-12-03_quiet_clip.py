"""Audio_Examples' quiet synthesized Six (peak 0.084): how Gauss-Newton climbs from its leveled start, by the number
of Jacobians, with and without the fitted gain and offset, with restarts, and as the recipe's fit stops it
(docs/EXPERIMENTS.md, 2026-12-03).

    PYTHONPATH=. python docs/experiments/2026-12-03_quiet_clip.py
"""
import numpy as np

from recovery.alignment import DECISIVE_SNR
from recovery.gauss_newton import gauss_newton
from recovery.network_start import leveled_start
from recovery.recipe import Recipe
from recovery.recover import load_models
from utils.data import load_clips


def main():
    recipe = Recipe(max_iter=0)  # Gauss-Newton only: no classifier to load
    models = load_models('hybrid', recipe, generator_dir='checkpoint',
                         inverse_path='inverse_mapping_checkpoint/inverse_mapping.keras', classifier_path=None)
    clip = load_clips(['Audio_Examples/originals/Six_synthesized.wav'])[0]
    z_true = np.load('Audio_Examples/originals/Six_synthesized_z.npy')[None]
    _, start, snr = leveled_start(models.network, models.level_free, models.generator, clip, recipe.refine_steps,
                                  recipe.fit, settled_snr=DECISIVE_SNR)
    print(f'peak {np.abs(clip).max():.3f}; leveled start {snr[0]:.1f} dB, latent MSE {np.mean((start - z_true) ** 2):.3g}')
    for affine in (True, False):
        for jacobians in (12, 24, 48):
            fitted = gauss_newton(models.generator, clip, start, recipe.fit.replace(iterations=jacobians, stall=0,
                                                                                    affine=affine))
            print(f'gain fitted {affine}, {jacobians} Jacobians: {fitted.snr[0]:.1f} dB, '
                  f'latent MSE {np.mean((fitted.z - z_true) ** 2):.3g}')
    fitted = gauss_newton(models.generator, clip, start, recipe.fit.replace(iterations=12, restarts=5))
    print(f'12 Jacobians, 5 restarts: {fitted.snr[0]:.1f} dB, latent MSE {np.mean((fitted.z - z_true) ** 2):.3g}')
    fitted = gauss_newton(models.generator, clip, start, recipe.fit.replace(restarts=0))
    print(f"the recipe's fit (its stall rule), no restarts: {fitted.snr[0]:.1f} dB, "
          f'latent MSE {np.mean((fitted.z - z_true) ** 2):.3g}')


if __name__ == '__main__':
    main()
