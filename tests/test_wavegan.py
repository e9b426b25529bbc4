import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import OFFICIAL
from models.tf1_loader import CheckpointError, Generator, complete_metagraph, export_generator, load_generator
from models.wavegan import (Discriminator, generate, generate_with_jacobian, generator_shapes, init_generator_weights,
                            phase_weights)


def test_generator_shapes_match_the_official_checkpoint():
    """Our generator's variable names and shapes for d=64 are the official SC09 checkpoint's.
    Break: models/wavegan.py: `channels = [16 * d, 8 * d, 4 * d, 2 * d, d, 1]` -> `channels = [16 * d, 8 * d, 4 * d, 2 * d, 2 * d, 1]`
    """
    shapes = generator_shapes(64)
    assert shapes['G/z_project/dense/kernel'] == (100, 16384)
    assert shapes['G/upconv_0/conv2d_transpose/kernel'] == (1, 25, 512, 1024)
    assert shapes['G/upconv_4/conv2d_transpose/kernel'] == (1, 25, 1, 64)
    reader = tf.train.load_checkpoint(os.path.join(OFFICIAL, 'model.ckpt'))
    official = reader.get_variable_to_shape_map()
    for name, shape in shapes.items():
        assert tuple(official[name]) == shape, name


def test_generator_output_shape_and_range():
    """z [3, 100] -> audio [3, 16384, 1] inside [-1, 1].
    Break: models/wavegan.py: `STRIDE = 4` -> `STRIDE = 2`
    """
    weights = {k: tf.constant(v) for k, v in init_generator_weights(4).items()}
    audio = generate(tf.random.uniform([3, 100], -1, 1), weights)
    assert audio.shape == (3, 16384, 1)
    assert np.all(np.abs(audio.numpy()) <= 1)


def test_discriminator_scores_each_clip_of_a_batch():
    """One score per clip, and different clips score differently.
    Break: models/wavegan.py: `        x = audio` -> `        x = audio * 0`
    """
    audio = tf.constant(np.random.default_rng(0).uniform(-0.5, 0.5, (2, 16384, 1)), tf.float32)
    scores = Discriminator(d=4, phase_shuffle_rad=0)(audio)
    assert scores.shape == (2, 1) and abs(float(scores[0, 0] - scores[1, 0])) > 1e-6


@pytest.mark.parametrize('stddev', [False, True])
def test_only_a_minibatch_stddev_critic_scores_a_clip_by_its_batch(stddev):
    """With the stddev channel a clip's score depends on the batch around it; without, it does not.
    Break: models/wavegan.py: `return tf.tile(spread[None, :, None], [tf.shape(x)[0], 1, 1])` -> `return tf.zeros_like(x[..., :1])`
    """
    rng = np.random.default_rng(0)
    clip, other = (tf.constant(rng.uniform(-0.5, 0.5, (1, 16384, 1)), tf.float32) for _ in range(2))
    critic = Discriminator(d=4, phase_shuffle_rad=0, stddev=stddev)
    alike, varied = critic(tf.concat([clip, clip], 0))[0, 0], critic(tf.concat([clip, other], 0))[0, 0]
    assert (abs(float(alike - varied)) > 1e-4) == stddev


def test_export_and_load_round_trip(tmp_path):
    """Exported weights load back as the same generator, gradients flow through it, and the frozen graph is cached
    and reused.
    Break: models/tf1_loader.py: `variable.load(weights[name], sess)  # values go` -> `variable.load(0.5 * weights[name], sess)  # values go`
    Break: models/tf1_loader.py: `os.replace(tmp, cache)` -> `os.remove(tmp)`
    """
    weights = init_generator_weights(4, seed=3)
    export_generator(weights, str(tmp_path), global_step=12)
    assert {'infer.meta', 'model.ckpt.index', 'model.ckpt.data-00000-of-00001', 'checkpoint'} <= set(os.listdir(tmp_path))
    generator = load_generator(str(tmp_path))
    z = np.random.default_rng(0).uniform(-1, 1, (2, 100)).astype(np.float32)
    expected = generate(tf.constant(z), {k: tf.constant(v) for k, v in weights.items()}).numpy()[..., 0]
    np.testing.assert_allclose(generator(z).numpy(), expected, atol=1e-6)
    assert np.abs(expected).max() > 0

    z_var = tf.Variable(z)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(generator(z_var) ** 2)
    gradient = tape.gradient(loss, z_var)
    assert gradient is not None and np.abs(gradient.numpy()).sum() > 0

    cached = [n for n in os.listdir(tmp_path) if '.frozen-' in n]
    assert len(cached) == 1, 'the frozen graph is cached next to the checkpoint'
    np.testing.assert_allclose(load_generator(str(tmp_path))(z).numpy(), expected, atol=1e-6)


def test_loader_follows_the_checkpoint_index_file(tmp_path):
    """A folder whose `checkpoint` file names model.ckpt-1234 loads that checkpoint.
    Break: models/tf1_loader.py: `prefix = tf.train.latest_checkpoint(checkpoint_dir)` -> `prefix = None`
    """
    export_generator(init_generator_weights(4), str(tmp_path))
    for name in os.listdir(tmp_path):
        if name.startswith('model.ckpt'):
            os.rename(tmp_path / name, tmp_path / name.replace('model.ckpt', 'model.ckpt-1234'))
    (tmp_path / 'checkpoint').write_text('model_checkpoint_path: "model.ckpt-1234"\n')
    assert load_generator(str(tmp_path))(np.zeros((1, 100), np.float32)).shape == (1, 16384)


def export_scaled_generator(weights, folder, scale):
    """A checkpoint whose graph computes `scale` times what our generator computes with `weights`: a graph that
    is not a plain WaveGAN though its variables are."""
    graph = tf.Graph()
    with graph.as_default():
        z = tf.compat.v1.placeholder(tf.float32, [None, 100], name='z')
        variables = {name: tf.compat.v1.get_variable(name, value.shape, initializer=tf.constant_initializer(value))
                     for name, value in weights.items()}
        tf.identity(scale * generate(z, variables), name='G_z')
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, os.path.join(folder, 'model.ckpt'), write_meta_graph=False)
        tf.compat.v1.train.export_meta_graph(os.path.join(folder, 'infer.meta'), graph=graph)


def test_a_plain_wavegan_jacobian_is_that_of_its_graph(tmp_path):
    """A checkpoint of our generator is recognised as a plain WaveGAN, and the Jacobian from the linearization of
    its layers equals forward-mode differentiation of its graph.
    Break: models/wavegan.py: `jac = jac * (tf.cast(y > 0, y.dtype) if i < 4 else 1 - x ** 2)[:, None]` -> `jac = jac * (tf.cast(y > 0, y.dtype) if i < 4 else 1 + 0 * x)[:, None]`
    Break: models/wavegan.py: `h = tf.reshape(tf.matmul(z, kernel) + weights['G/z_project/dense/bias'], [batch, 16, channels])` -> `h = tf.reshape(tf.matmul(z, kernel), [batch, 16, channels])`
    """
    weights = init_generator_weights(4, seed=3)
    rng = np.random.default_rng(1)
    for name in weights:
        if name.endswith('bias'):  # WaveGAN starts them at zero; a trained one has them
            weights[name] = rng.normal(0, 0.1, weights[name].shape).astype(np.float32)
    export_generator(weights, str(tmp_path))
    generator = load_generator(str(tmp_path))
    assert generator.weights is not None
    z = np.random.default_rng(0).uniform(-1, 1, (3, 100)).astype(np.float32)
    by_graph = Generator(generator.graph_function).jacobian(z)
    np.testing.assert_allclose(generator.jacobian(z), by_graph, atol=1e-6 * np.abs(by_graph).max())


def test_another_graph_gets_its_own_jacobian(tmp_path):
    """A graph that computes half of what its WaveGAN variables would is not taken for a plain WaveGAN: its
    Jacobian is half the linearization's.
    Break: models/tf1_loader.py: `return weights if ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-4 else None` -> `return weights`
    """
    weights = init_generator_weights(4, seed=3)
    export_scaled_generator(weights, str(tmp_path), 0.5)
    generator = load_generator(str(tmp_path))
    assert generator.weights is None
    z = np.random.default_rng(0).uniform(-1, 1, (2, 100)).astype(np.float32)
    _, ours = generate_with_jacobian(tf.constant(z), phase_weights(weights))
    np.testing.assert_allclose(generator.jacobian(z), 0.5 * ours.numpy(), atol=1e-6 * np.abs(ours.numpy()).max())


def official_with_random_weights(folder):
    """The official SC09 MetaGraph with random weights saved beside it, as its README describes."""
    rng = np.random.default_rng(0)
    weights = {name: rng.normal(0, 0.02, shape).astype(np.float32) for name, shape in generator_shapes(64).items()}
    complete_metagraph(os.path.join(OFFICIAL, 'infer.meta'), folder, weights)
    return weights


def test_official_sc09_metagraph_loads_and_matches_our_generator(tmp_path):
    """The official SC09 MetaGraph with random weights loads and computes what our generator computes from them.
    Break: models/wavegan.py: `x = tf.nn.relu(tf.reshape(x, [-1, 16, channels]))` -> `x = tf.nn.relu(tf.reshape(x, [-1, 16, channels])) * 0.5`
    """
    weights = official_with_random_weights(str(tmp_path))
    generator = load_generator(str(tmp_path))
    assert generator.weights is not None  # a plain WaveGAN: its Jacobian by linearization
    z = np.random.default_rng(1).uniform(-1, 1, (2, 100)).astype(np.float32)
    audio = generator(z).numpy()
    assert audio.shape == (2, 16384)
    ours = generate(tf.constant(z), {k: tf.constant(v) for k, v in weights.items()}).numpy()[..., 0]
    np.testing.assert_allclose(audio, ours, atol=1e-5)


@pytest.mark.parametrize('damage', ['no_folder', 'no_meta', 'no_index', 'no_data', 'truncated_data', 'wrong_graph',
                                    'latent_50'])
def test_bad_checkpoints_are_refused_with_one_clear_line(tmp_path, damage):
    """Each kind of damaged checkpoint folder raises CheckpointError in one line naming it and how to get one.
    Break: models/tf1_loader.py: `for needed in ('z', 'G_z'):` -> `for needed in ():`
    Break: models/tf1_loader.py: `if z.shape.rank != 2 or z.shape[1] != LATENT_DIM:` -> `if False:`
    """
    export_generator(init_generator_weights(4), str(tmp_path))
    folder = str(tmp_path)
    if damage == 'no_folder':
        folder = str(tmp_path / 'missing')
    elif damage == 'no_meta':
        os.remove(tmp_path / 'infer.meta')
    elif damage == 'no_index':
        os.remove(tmp_path / 'model.ckpt.index')
    elif damage == 'no_data':
        os.remove(tmp_path / 'model.ckpt.data-00000-of-00001')
    elif damage == 'truncated_data':
        data = tmp_path / 'model.ckpt.data-00000-of-00001'
        data.write_bytes(data.read_bytes()[:100])
    elif damage == 'wrong_graph':
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.placeholder(tf.float32, [None, 100], name='x')
            tf.compat.v1.train.export_meta_graph(str(tmp_path / 'infer.meta'), graph=graph)
    elif damage == 'latent_50':
        graph = tf.Graph()
        with graph.as_default():
            z = tf.compat.v1.placeholder(tf.float32, [None, 50], name='z')
            kernel = tf.compat.v1.get_variable('kernel', [50, 16384])
            tf.identity(tf.matmul(z, kernel), name='G_z')
            saver = tf.compat.v1.train.Saver()
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                saver.save(session, str(tmp_path / 'model.ckpt'), write_meta_graph=False)
            tf.compat.v1.train.export_meta_graph(str(tmp_path / 'infer.meta'), graph=graph)
    with pytest.raises(CheckpointError) as error:
        load_generator(folder)
    message = str(error.value)
    assert '\n' not in message and folder.split('/')[-1] in message and 'train_wavegan.py' in message
    if damage == 'latent_50':
        assert 'expected [None, 100]' in message
    if damage == 'wrong_graph':
        assert 'no tensor z:0' in message
