"""WaveGAN (Donahue et al. 2019): the generator and discriminator, with the official variable names.

The generator maps z [batch, 100] to audio [batch, 16384, 1]: dense to 16 x 16d, ReLU, then five
transposed 1-D convolutions (kernel 25, stride 4; ReLU between them, tanh at the end). `d` is 64
in the official SC09 model. The same function builds it in TF2 (training) and in a TF1 graph
(export), from a dict of weights named as in the official checkpoint.
"""
import numpy as np
import tensorflow as tf

LATENT_DIM = 100
KERNEL_LEN = 25
STRIDE = 4


def generator_shapes(d=64, latent_dim=LATENT_DIM):
    """Official variable names and shapes of the generator (upconv kernels are [1, 25, out, in])."""
    shapes = {'G/z_project/dense/kernel': (latent_dim, 256 * d),
              'G/z_project/dense/bias': (256 * d,)}
    channels = [16 * d, 8 * d, 4 * d, 2 * d, d, 1]
    for i in range(5):
        shapes[f'G/upconv_{i}/conv2d_transpose/kernel'] = (1, KERNEL_LEN, channels[i + 1], channels[i])
        shapes[f'G/upconv_{i}/conv2d_transpose/bias'] = (channels[i + 1],)
    return shapes


def conv1d_transpose(x, kernel, bias=None):
    """[batch, n, c_in] -> [batch, 4n, c_out], as WaveGAN's conv2d_transpose over a height of 1."""
    batch, length = tf.shape(x)[0], tf.shape(x)[1]
    out_shape = tf.stack([batch, 1, length * STRIDE, tf.shape(kernel)[2]])
    y = tf.nn.conv2d_transpose(x[:, None], kernel, out_shape, strides=[1, 1, STRIDE, 1], padding='SAME')[:, 0]
    return y if bias is None else tf.nn.bias_add(y, bias)


def generate(z, weights):
    """WaveGAN generator: z [batch, 100] -> audio [batch, 16384, 1] in [-1, 1]."""
    x = tf.matmul(z, weights['G/z_project/dense/kernel']) + weights['G/z_project/dense/bias']
    channels = weights['G/upconv_0/conv2d_transpose/kernel'].shape[3]
    x = tf.nn.relu(tf.reshape(x, [-1, 16, channels]))
    for i in range(5):
        x = conv1d_transpose(x, weights[f'G/upconv_{i}/conv2d_transpose/kernel'],
                             weights[f'G/upconv_{i}/conv2d_transpose/bias'])
        x = tf.nn.relu(x) if i < 4 else tf.tanh(x)
    return x


def phase_kernel(kernel):
    """A transposed convolution's kernel [1, 25, out, in] as an ordinary convolution's [taps, in, 4 * out] whose
    output channels are the 4 output phases, so that conv1d_transpose(x, kernel) is phase_convolution(x, that).

    With 'SAME' padding, output sample 4m + r of the transposed convolution is the sum over k = 4d + r + PAD of
    x[m - d] times tap k; an ordinary convolution computes those sums for every phase r at once, which oneDNN
    does about 2.5 times as fast for the Jacobian's 100 tangents a clip."""
    kernel = np.asarray(kernel)[0]
    pad = (KERNEL_LEN - STRIDE) // 2
    reach = -(-(KERNEL_LEN - 1 - pad) // STRIDE)  # the farthest input sample a tap reaches, either way
    phases = np.zeros((2 * reach + 1, kernel.shape[2], STRIDE, kernel.shape[1]), np.float32)
    for d in range(-reach, reach + 1):
        for r in range(STRIDE):
            if 0 <= STRIDE * d + r + pad < KERNEL_LEN:
                phases[reach - d, :, r, :] = kernel[STRIDE * d + r + pad].T
    return tf.constant(phases.reshape(2 * reach + 1, kernel.shape[2], STRIDE * kernel.shape[1]))


def phase_convolution(x, phases):
    """[batch, n, c_in] -> [batch, 4n, c_out]: conv1d_transpose without its bias, from its phase_kernel."""
    y = tf.nn.conv1d(x, phases, 1, 'SAME')
    return tf.reshape(y, [tf.shape(y)[0], tf.shape(y)[1] * STRIDE, phases.shape[2] // STRIDE])


def phase_weights(weights):
    """The generator's weights with each transposed convolution's kernel as its phase_kernel, for
    generate_with_jacobian (computed once: they are constants)."""
    return {name: phase_kernel(value) if name.endswith('conv2d_transpose/kernel') else tf.constant(value)
            for name, value in weights.items()}


def generate_with_jacobian(z, weights, tangents=True):
    """G(z) [batch, 16384] and dG(z)/dz [batch, 16384, 100] from phase_weights: the clip computed once, and the 100
    unit tangents pushed through the generator's linearization at z (each layer's transposed convolution without
    its bias, as a phase_convolution, then its ReLU mask, or tanh's slope at the end): about a tenth of what
    forward-mode differentiation of 100 copies of the clip costs. Without `tangents`, G(z) alone (and None), in
    about half the time the transposed convolutions take."""
    batch = tf.shape(z)[0]
    kernel = weights['G/z_project/dense/kernel']
    channels = kernel.shape[1] // 16
    h = tf.reshape(tf.matmul(z, kernel) + weights['G/z_project/dense/bias'], [batch, 16, channels])
    jac = tf.reshape(kernel, [1, LATENT_DIM, 16, channels]) * tf.cast(h > 0, h.dtype)[:, None] if tangents else None
    x = tf.nn.relu(h)
    for i in range(5):
        phases = weights[f'G/upconv_{i}/conv2d_transpose/kernel']
        y = tf.nn.bias_add(phase_convolution(x, phases), weights[f'G/upconv_{i}/conv2d_transpose/bias'])
        x = tf.nn.relu(y) if i < 4 else tf.tanh(y)
        if tangents:
            flat = tf.reshape(jac, [batch * LATENT_DIM, tf.shape(jac)[2], tf.shape(jac)[3]])
            jac = tf.reshape(phase_convolution(flat, phases), [batch, LATENT_DIM, tf.shape(y)[1], tf.shape(y)[2]])
            jac = jac * (tf.cast(y > 0, y.dtype) if i < 4 else 1 - x ** 2)[:, None]
    if tangents:
        jac = tf.transpose(tf.reshape(jac, [batch, LATENT_DIM, -1]), [0, 2, 1])
    return x[..., 0], jac


def init_generator_weights(d, seed=0):
    """Glorot-uniform kernels and zero biases, as TF1's tf.layers defaults gave WaveGAN."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in generator_shapes(d).items():
        if name.endswith('bias'):
            weights[name] = np.zeros(shape, np.float32)
        else:
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            weights[name] = rng.uniform(-limit, limit, shape).astype(np.float32)
    return weights


def phase_shuffle(x, rad):
    """Shift each example of [batch, n, c] by a random -rad..rad samples, reflect-padding the ends."""
    if rad == 0:
        return x
    static_shape, length = x.shape, tf.shape(x)[1]
    shift = tf.random.uniform([], -rad, rad + 1, dtype=tf.int32)
    pad_left, pad_right = tf.maximum(shift, 0), tf.maximum(-shift, 0)
    x = tf.pad(x, [[0, 0], [pad_left, pad_right], [0, 0]], mode='REFLECT')
    x = x[:, pad_right:pad_right + length]
    x.set_shape(static_shape)
    return x


def minibatch_stddev(x):
    """[batch, n, c] -> [batch, n, 1]: the spread of the batch at each position, averaged over channels
    and given to every example, so the critic can tell a batch that lacks variety (Karras et al. 2018)."""
    spread = tf.reduce_mean(tf.sqrt(tf.math.reduce_variance(x, axis=0) + 1e-8), axis=-1)
    return tf.tile(spread[None, :, None], [tf.shape(x)[0], 1, 1])


class Discriminator(tf.Module):
    """WaveGAN discriminator: five conv1d (kernel 25, stride 4, leaky ReLU 0.2, phase shuffle), dense 1.

    With stddev, a minibatch standard-deviation channel joins the last features before the dense layer.
    """

    def __init__(self, d=64, phase_shuffle_rad=2, seed=0, stddev=False):
        super().__init__(name='D')
        init = tf.keras.initializers.GlorotUniform(seed=seed)
        channels = [1, d, 2 * d, 4 * d, 8 * d, 16 * d]
        self.kernels = [tf.Variable(init((KERNEL_LEN, channels[i], channels[i + 1])), name=f'downconv_{i}/kernel')
                        for i in range(5)]
        self.biases = [tf.Variable(tf.zeros(channels[i + 1]), name=f'downconv_{i}/bias') for i in range(5)]
        self.dense = tf.Variable(init((16 * (16 * d + stddev), 1)), name='output/kernel')
        self.dense_bias = tf.Variable(tf.zeros(1), name='output/bias')
        self.rad, self.stddev = phase_shuffle_rad, stddev

    def __call__(self, audio):
        x = audio
        for i in range(5):
            x = tf.nn.conv1d(x, self.kernels[i], stride=STRIDE, padding='SAME') + self.biases[i]
            x = tf.nn.leaky_relu(x, 0.2)
            if i < 4:
                x = phase_shuffle(x, self.rad)
        if self.stddev:
            x = tf.concat([x, minibatch_stddev(x)], axis=-1)
        x = tf.reshape(x, [tf.shape(x)[0], -1])
        return tf.matmul(x, self.dense) + self.dense_bias


def random_z(n, rng):
    """n latent vectors from WaveGAN's prior, uniform in [-1, 1]^100, drawn from the numpy Generator rng."""
    return rng.uniform(-1, 1, (n, LATENT_DIM)).astype(np.float32)


def synthesize(generator, z, batch_size=64, profile=None):
    """G(z) in batches, as numpy [N, 16384]; a recovery Profile given counts the forward passes."""
    if profile:
        profile.count('forward', len(z))
    return np.concatenate([generator(z[i:i + batch_size]).numpy() for i in range(0, len(z), batch_size)])
