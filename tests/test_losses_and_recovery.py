import numpy as np

from models.resnet import load_classifier, resnet
from models.tf1_loader import export_generator, load_generator
from models.wavegan import init_generator_weights
from utils import metrics
from utils.data import load_clips, split_files
from utils.losses import perceptual_loss, perceptual_model, waveform_sse
from utils.recovery import gauss_newton, random_z, recover, synthesize
from utils.training import fit_linear_readout


def test_perceptual_loss_is_zero_for_identical_clips_and_grows_with_noise(tiny_models, fsdd_small):
    classifier = load_classifier(tiny_models['classifier_path'])
    features = perceptual_model(classifier, ['input', 'stem', 'stage1', 'stage2'])
    clips, _, _, _ = load_clips(split_files(fsdd_small, 'test')[:4])
    noise = np.random.default_rng(0).normal(size=clips.shape).astype(np.float32)
    losses = [perceptual_loss(features, clips, clips + level * noise).numpy() for level in (0.0, 0.01, 0.1)]
    np.testing.assert_allclose(losses[0], 0, atol=1e-7)
    assert np.all(losses[1] > 0) and np.all(losses[2] > losses[1])


def test_gradient_recovery_of_a_synthesized_clip_lowers_the_latent_error(tmp_path):
    export_generator(init_generator_weights(4, seed=5), str(tmp_path))
    generator = load_generator(str(tmp_path))
    rng = np.random.default_rng(1)
    z_true = random_z(2, rng)
    audio = synthesize(generator, z_true)
    z_start = random_z(2, np.random.default_rng(0))
    z = recover(audio, 'gradient', generator, waveform_sse, max_iter=100, seed=0)
    before = metrics.latent_mse(z_true, z_start).mean()
    after = metrics.latent_mse(z_true, z).mean()
    assert after < 0.1 * before
    assert np.all(np.abs(z) <= 1)


def test_metrics_on_known_cases():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 16384)).astype(np.float32) * 0.1
    assert np.allclose(metrics.audio_mse(a, a), 0)
    assert np.all(metrics.snr_db(a, 0.9 * a) > 19.9)
    np.testing.assert_allclose(metrics.spectrogram_ssim(a, a), 1, atol=1e-5)
    assert np.all(metrics.spectrogram_ssim(a, a + rng.normal(size=a.shape).astype(np.float32)) < 0.9)
    np.testing.assert_allclose(metrics.log_spectral_distance(a, a), 0, atol=1e-6)
    uniform = np.full((10, 10), 0.1)
    confident = np.eye(10)
    assert abs(metrics.inception_score(uniform) - 1) < 1e-6
    assert abs(metrics.inception_score(confident) - 10) < 1e-3
    assert metrics.accuracy(confident, np.arange(10)) == 1.0
    assert metrics.digits_heard(confident[[3, 3, 7]]) == '0:0 1:0 2:0 3:2 4:0 5:0 6:0 7:1 8:0 9:0'


def tiny_generator(folder, seed=5):
    export_generator(init_generator_weights(4, seed=seed), str(folder))
    return load_generator(str(folder))


def tiny_generator_and_network(folder):
    """The tiny generator and a tiny inverse-mapping network with its linear readout fitted to it."""
    generator = tiny_generator(folder)
    network = resnet(100, widths=(4, 8), blocks=(1, 1), linear_readout=True)
    fit_linear_readout(network, generator, clips=1000)
    return generator, network


def clips_and_near_starts(generator):
    """Three z, their clips, and starts about 0.2 away from each z (inside [-1, 1])."""
    rng = np.random.default_rng(2)
    z_true = random_z(3, rng)
    z_start = np.clip(z_true + rng.normal(0, 0.2, z_true.shape), -1, 1).astype(np.float32)
    return z_true, synthesize(generator, z_true), z_start


def test_gauss_newton_converges_to_the_exact_z(tmp_path):
    generator = tiny_generator(tmp_path)
    z_true, audio, z_start = clips_and_near_starts(generator)
    z = gauss_newton(generator, audio, z_start, iterations=10)
    assert np.median(metrics.latent_mse(z_true, z)) < 1e-6
    assert np.all(metrics.snr_db(audio, synthesize(generator, z)) > 60)


def test_chord_steps_reach_with_few_jacobians_what_plain_steps_do_not(tmp_path):
    generator = tiny_generator(tmp_path)
    z_true, audio, z_start = clips_and_near_starts(generator)
    plain = gauss_newton(generator, audio, z_start, iterations=2)
    chord = gauss_newton(generator, audio, z_start, iterations=2, chord_steps=8)
    assert np.median(metrics.latent_mse(z_true, chord)) < np.median(metrics.latent_mse(z_true, plain)) / 10


def test_gauss_newton_is_exact_when_the_generator_is_ill_conditioned(tmp_path):
    """Singular values over three decades, as in trained WaveGANs: the damping must fall fast enough
    to reach the small directions (a threefold cut per step left the latent MSE at 0.007)."""
    weights = init_generator_weights(4, seed=5)
    weights['G/z_project/dense/kernel'] *= np.logspace(0, -3, 100, dtype=np.float32)[:, None]
    export_generator(weights, str(tmp_path))
    generator = load_generator(str(tmp_path))
    z_true, audio, z_start = clips_and_near_starts(generator)
    z = gauss_newton(generator, audio, z_start, iterations=3, chord_steps=8)
    assert np.all(metrics.latent_mse(z_true, z) < 1e-6)


def test_readout_refinement_lowers_the_network_latent_error(tmp_path):
    generator, network = tiny_generator_and_network(tmp_path)
    z_true = random_z(16, np.random.default_rng(3))
    audio = synthesize(generator, z_true)
    errors = [np.median(metrics.latent_mse(z_true, recover(audio, 'network', generator, waveform_sse, network,
                                                           refine_steps=steps))) for steps in (0, 4)]
    assert errors[1] < 0.5 * errors[0]
    noise = (np.random.default_rng(4).normal(size=(8, 16384)) * 0.1).astype(np.float32)  # clips G cannot make
    fitted = [waveform_sse(noise, synthesize(generator, recover(noise, 'network', generator, waveform_sse, network,
                                                                refine_steps=steps))) for steps in (0, 4)]
    assert np.all(fitted[1] <= fitted[0])  # plain steps would fit some of these worse
    plain = resnet(100, widths=(4, 8), blocks=(1, 1))
    np.testing.assert_array_equal(recover(audio, 'network', generator, waveform_sse, plain, refine_steps=4),
                                  recover(audio, 'network', generator, waveform_sse, plain))


def test_hybrid_recovery_of_synthesized_clips_is_near_exact(tmp_path):
    """Network with its closed-form linear readout, then Gauss-Newton: z to within 1e-4 MSE."""
    generator, network = tiny_generator_and_network(tmp_path)
    z_true = random_z(4, np.random.default_rng(3))
    audio = synthesize(generator, z_true)
    z_network = recover(audio, 'network', generator, waveform_sse, network)
    assert np.median(metrics.latent_mse(z_true, z_network)) < 0.1  # z = 0 scores 0.333
    z = recover(audio, 'hybrid', generator, waveform_sse, network, max_iter=10, gauss_newton_iterations=5,
                chord_steps=8)
    assert np.median(metrics.latent_mse(z_true, z)) < 1e-4
    assert np.all(metrics.snr_db(audio, synthesize(generator, z)) > 40)


def test_stoi_is_one_for_identical_speech_and_undefined_without_enough_sound(fsdd_small):
    clips, _, _, _ = load_clips(split_files(fsdd_small, 'test')[:6])
    same = metrics.stoi(clips, clips)
    defined = np.isfinite(same)
    assert defined.any()
    np.testing.assert_allclose(same[defined], 1, atol=1e-6)
    noisy = clips + 0.1 * np.random.default_rng(0).normal(size=clips.shape).astype(np.float32)
    assert np.all(metrics.stoi(clips, noisy)[defined] < 0.99)
    blip = np.zeros((1, 16384), np.float32)
    blip[0, :800] = np.sin(np.arange(800) / 3)
    assert np.isnan(metrics.stoi(blip, blip)[0])
