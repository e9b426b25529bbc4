"""WaveGAN checkpoints in the official TensorFlow 1 format (`infer.meta` + `model.ckpt*`).

`export_generator` writes one from generator weights; `load_generator` turns any such folder,
the official SC09 one included, into a Generator: a TF2 callable z -> audio through which gradients
flow (import the MetaGraph, restore the weights, freeze them into constants (cached next to the
checkpoint), wrap the frozen graph as a TF2 function and prune it to z:0 -> G_z:0), with its Jacobian.
"""
import hashlib
import os
import shutil

import numpy as np
import tensorflow as tf

from models.wavegan import LATENT_DIM, generate, generate_with_jacobian, generator_shapes, phase_weights, random_z
from utils.errors import UserError

tf.get_logger().setLevel('ERROR')  # the TF1 APIs used here warn that they are TF1 APIs

META_NAME = 'infer.meta'
CKPT_NAME = 'model.ckpt'
HOW_TO_GET = ('train one with `python train_wavegan.py`, or download the official WaveGAN SC09 '
              'checkpoint (infer.meta, model.ckpt.index, model.ckpt.data-00000-of-00001)')


class CheckpointError(UserError):
    """A checkpoint folder that cannot be loaded; the message says what is missing and how to get it."""


def export_generator(weights, checkpoint_dir, global_step=0):
    """Write `infer.meta` and `model.ckpt` for generator `weights` (name -> array) into checkpoint_dir.

    Files are written in a temporary folder and moved in (data, then index, then meta), so a
    kill leaves either the old or the new checkpoint.
    """
    tmp = os.path.join(checkpoint_dir, f'.export{os.getpid()}')
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    graph = tf.Graph()
    with graph.as_default():
        z = tf.compat.v1.placeholder(tf.float32, [None, LATENT_DIM], name='z')
        variables = {name: tf.compat.v1.get_variable(name, value.shape, initializer=tf.zeros_initializer())
                     for name, value in weights.items()}
        tf.identity(generate(z, variables), name='G_z')
        step = tf.compat.v1.get_variable('global_step', [], tf.int64, tf.zeros_initializer(), trainable=False)
        saver = tf.compat.v1.train.Saver(write_version=tf.compat.v1.train.SaverDef.V2)
        with tf.compat.v1.Session(graph=graph) as sess:
            for name, variable in variables.items():
                variable.load(weights[name], sess)  # values go to the checkpoint, not into the graph
            step.load(global_step, sess)
            saver.save(sess, os.path.join(tmp, CKPT_NAME), write_meta_graph=False,
                       write_state=False)
        tf.compat.v1.train.export_meta_graph(os.path.join(tmp, META_NAME), graph=graph,
                                             saver_def=saver.as_saver_def(), clear_devices=True)
    with open(os.path.join(tmp, 'checkpoint'), 'w') as f:
        f.write(f'model_checkpoint_path: "{CKPT_NAME}"\nall_model_checkpoint_paths: "{CKPT_NAME}"\n')
    names = sorted(os.listdir(tmp), key=lambda n: ('.data-' not in n, n.endswith('.index'), n == META_NAME))
    for name in names:
        os.replace(os.path.join(tmp, name), os.path.join(checkpoint_dir, name))
    os.rmdir(tmp)


def complete_metagraph(meta, checkpoint_dir, weights):
    """Copy a weightless MetaGraph (the official SC09 `infer.meta`, say) into checkpoint_dir and save `weights`
    (name -> array, for each of its float variables) beside it as `model.ckpt`: a checkpoint folder that loads
    exactly as a downloaded one does (for tests, and for measuring the official architecture's cost)."""
    os.makedirs(checkpoint_dir, exist_ok=True)
    shutil.copy(meta, os.path.join(checkpoint_dir, META_NAME))
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.compat.v1.train.import_meta_graph(os.path.join(checkpoint_dir, META_NAME), clear_devices=True)
        with tf.compat.v1.Session(graph=graph) as sess:
            for variable in tf.compat.v1.global_variables():
                if variable.dtype.base_dtype == tf.int64:  # global_step
                    sess.run(variable.initializer)
                else:
                    variable.load(weights[variable.name[:-2]], sess)
            saver.save(sess, os.path.join(checkpoint_dir, CKPT_NAME), write_meta_graph=False)


def find_checkpoint(checkpoint_dir):
    """(meta path, checkpoint prefix) of a WaveGAN folder, or CheckpointError saying what is missing."""
    if not os.path.isdir(checkpoint_dir):
        raise CheckpointError(f'{checkpoint_dir}: no such checkpoint folder; {HOW_TO_GET}')
    meta = os.path.join(checkpoint_dir, META_NAME)
    if not os.path.isfile(meta):
        raise CheckpointError(f'{checkpoint_dir}: no {META_NAME}; {HOW_TO_GET}')
    prefix = tf.train.latest_checkpoint(checkpoint_dir)
    if prefix is None or not os.path.isfile(prefix + '.index'):
        prefix = os.path.join(checkpoint_dir, CKPT_NAME)
    if not os.path.isfile(prefix + '.index'):
        raise CheckpointError(f'{checkpoint_dir}: no {CKPT_NAME}.index (nor a `checkpoint` file naming '
                              f'model.ckpt-NNNN); {HOW_TO_GET}')
    return meta, prefix


def freeze(meta, prefix):
    """Import the MetaGraph, restore its variables, and return a GraphDef with them as constants."""
    graph = tf.Graph()
    with graph.as_default():
        try:
            saver = tf.compat.v1.train.import_meta_graph(meta, clear_devices=True)
        except Exception as e:
            raise CheckpointError(f'{meta}: not a readable MetaGraph ({str(e).splitlines()[0]}); {HOW_TO_GET}') from None
        names = {op.name for op in graph.get_operations()}
        for needed in ('z', 'G_z'):
            if needed not in names:
                raise CheckpointError(f'{meta}: the graph has no tensor {needed}:0; expected a WaveGAN '
                                      f'generator graph with z:0 -> G_z:0; {HOW_TO_GET}')
        with tf.compat.v1.Session(graph=graph) as sess:
            try:
                saver.restore(sess, prefix)
            except Exception as e:
                raise CheckpointError(f'{prefix}: cannot restore the weights ({str(e).splitlines()[0][:200]}); '
                                      f'the data file may be missing or truncated; {HOW_TO_GET}') from None
            return tf.compat.v1.graph_util.convert_variables_to_constants(
                sess, graph.as_graph_def(), ['G_z'])


def checkpoint_fingerprint(meta, prefix):
    """A digest of the checkpoint's files' names, sizes and times, to key the frozen-graph cache."""
    folder = os.path.dirname(prefix)
    stem = os.path.basename(prefix)
    files = [meta] + sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.startswith(stem + '.'))
    text = ';'.join(f'{f}:{os.path.getsize(f)}:{os.path.getmtime(f)}' for f in files if os.path.isfile(f))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def frozen_graph(checkpoint_dir):
    """The frozen GraphDef of a checkpoint folder, from its cache file when it is up to date."""
    meta, prefix = find_checkpoint(checkpoint_dir)
    cache = f'{prefix}.frozen-{checkpoint_fingerprint(meta, prefix)}.pb'
    if os.path.isfile(cache):
        graph_def = tf.compat.v1.GraphDef()
        with open(cache, 'rb') as f:
            graph_def.ParseFromString(f.read())
        return graph_def
    graph_def = freeze(meta, prefix)
    try:
        for old in os.listdir(os.path.dirname(prefix)):
            if old.startswith(os.path.basename(prefix) + '.frozen-'):
                os.remove(os.path.join(os.path.dirname(prefix), old))
        tmp = f'{cache}.tmp{os.getpid()}'
        with open(tmp, 'wb') as f:
            f.write(graph_def.SerializeToString())
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only checkpoint folder: freeze again next time
    return graph_def


class Generator:
    """A loaded WaveGAN generator: generator(z) is the audio [batch, 16384] of z [batch, 100], through which
    gradients flow; generator.jacobian(z) is dG/dz [batch, 16384, 100] in float64.

    When the checkpoint is a plain WaveGAN (the official SC09 one, or ours: the same variables, and the graph
    computes what models.wavegan.generate does with them), both come from its weights, each transposed
    convolution computed as an ordinary one (generate_with_jacobian: the clip in under half the graph's time,
    equal to it to float32's rounding; the Jacobian by the linearization of its layers). Any other graph is run
    as it is, its Jacobian by forward-mode differentiation of 100 copies of each clip, about ten times the cost.
    """

    def __init__(self, graph_function, weights=None):
        self.graph_function, self.weights = graph_function, weights
        spec = [tf.TensorSpec([None, LATENT_DIM], tf.float32)]  # one graph for every batch size
        if weights is not None:
            phases = phase_weights(weights)
            self.clips_per_jacobian = max(1, 32 // (weights['G/z_project/dense/kernel'].shape[1] // 256))
            self._jacobian = tf.function(lambda z: generate_with_jacobian(z, phases)[1], input_signature=spec)
            self._forward = tf.function(lambda z: generate_with_jacobian(z, phases, tangents=False)[0],
                                        input_signature=spec)
        else:
            self.clips_per_jacobian = 8
            self._jacobian = tf.function(self._forward_mode_jacobian, input_signature=spec)
            self._forward = lambda z: tf.reshape(graph_function(z), [tf.shape(z)[0], -1])
        self._pullback = tf.function(self._vector_jacobian_product,
                                     input_signature=spec + [tf.TensorSpec([None, None], tf.float32)])

    def __call__(self, latents):
        return self._forward(tf.convert_to_tensor(latents, tf.float32))

    def _forward_mode_jacobian(self, z):
        n = tf.shape(z)[0]
        primals = tf.repeat(z, LATENT_DIM, axis=0)
        tangents = tf.tile(tf.eye(LATENT_DIM), [n, 1])
        with tf.autodiff.ForwardAccumulator(primals, tangents) as accumulator:
            audio = self(primals)
        return tf.transpose(tf.reshape(accumulator.jvp(audio), [n, LATENT_DIM, -1]), [0, 2, 1])

    def _vector_jacobian_product(self, z, cotangent):
        with tf.GradientTape() as tape:
            tape.watch(z)
            audio = self._forward(z)
        return tape.gradient(audio, z, output_gradients=cotangent)

    def pullback(self, z, cotangent):
        """J(z)^T c for each clip, c [N, 16384] a cotangent on G(z): [N, 100] float64, one backward pass (no Jacobian)."""
        return self._pullback(tf.constant(z, tf.float32), tf.constant(cotangent, tf.float32)).numpy().astype(np.float64)

    def jacobian(self, z):
        """dG(z)/dz of each clip, [N, 16384, 100] float64, a few clips at a time (memory: 100 tangents a clip)."""
        step, out = self.clips_per_jacobian, None
        for i in range(0, len(z), step):
            part = self._jacobian(tf.constant(z[i:i + step], tf.float32)).numpy()
            if out is None:
                out = np.empty((len(z),) + part.shape[1:], np.float64)
            out[i:i + len(part)] = part
        return out


def plain_wavegan_weights(prefix, graph_function):
    """The checkpoint's generator weights as constants, if it holds exactly WaveGAN's variables and its graph
    computes what models.wavegan.generate does with them (to 1e-4 on a probe z); else None."""
    reader = tf.train.load_checkpoint(prefix)
    found = {name: tuple(shape) for name, shape in reader.get_variable_to_shape_map().items() if name != 'global_step'}
    dense = found.get('G/z_project/dense/kernel')
    if dense is None or dense[1] % 256 or found != generator_shapes(dense[1] // 256):
        return None
    weights = {name: tf.constant(reader.get_tensor(name)) for name in found}
    probe = tf.constant(random_z(2, np.random.default_rng(0)))
    ours = generate(probe, weights)[..., 0].numpy()
    theirs = tf.reshape(graph_function(probe), [2, -1]).numpy()
    return weights if ours.shape == theirs.shape and np.abs(ours - theirs).max() < 1e-4 else None


def load_generator(checkpoint_dir):
    """A Generator (z [batch, 100] -> audio [batch, 16384], and its Jacobian) from a WaveGAN checkpoint folder."""
    graph_def = frozen_graph(checkpoint_dir)
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=''), [])
    z, g_z = wrapped.graph.get_tensor_by_name('z:0'), wrapped.graph.get_tensor_by_name('G_z:0')
    if z.shape.rank != 2 or z.shape[1] != LATENT_DIM:
        raise CheckpointError(f'{checkpoint_dir}: z:0 has shape {z.shape}, expected [None, {LATENT_DIM}]; '
                              f'{HOW_TO_GET}')
    pruned = wrapped.prune(z, g_z)
    return Generator(pruned, plain_wavegan_weights(find_checkpoint(checkpoint_dir)[1], pruned))
