"""Scaling out: tf.distribute strategies for training, and a folder job split across workers.

Training scripts take `--strategy=default|mirrored|multiworker`. The flag's batch size is the
global batch: every step draws it on the host from the same seeded generator on every worker, and
replica r trains on rows [r * B / n, (r + 1) * B / n). Per-example losses are summed and divided by
the global batch (`tf.nn.compute_average_loss`), so the all-reduced gradients equal those of one
process on the whole batch. Only the chief writes checkpoints, logs and examples; every worker
resumes from them. A recovery job deals whole batches of its clips to the workers, and its table is
merged from theirs.
"""
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile

import tensorflow as tf

from utils.errors import UserError
from utils.flags import STRATEGIES
from utils.metrics import merge_measures, save_measures, summarize_by_kind, write_report


def make_strategy(name, global_batch):
    """'default': this process's one device; 'mirrored': every local GPU; 'multiworker': the hosts of
    TF_CONFIG. The global batch must split evenly over the strategy's replicas."""
    if name == 'default':
        strategy = tf.distribute.get_strategy()
    elif name == 'mirrored':
        strategy = tf.distribute.MirroredStrategy()
    elif name == 'multiworker':
        if not os.environ.get('TF_CONFIG'):
            raise UserError('--strategy=multiworker: TF_CONFIG is not set; it names the cluster and this '
                            'worker, e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                            '"task": {"type": "worker", "index": 0}}')
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        raise UserError(f'--strategy={name}: expected one of {", ".join(STRATEGIES)}')
    if global_batch % strategy.num_replicas_in_sync:
        raise UserError(f'--batch_size={global_batch}: the global batch must split evenly over '
                        f'{strategy.num_replicas_in_sync} replicas')
    return strategy


def is_chief(strategy):
    """True on the worker that writes checkpoints and logs: 'chief', or worker 0 of a cluster without one."""
    resolver = getattr(strategy, 'cluster_resolver', None)
    if resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == 'chief':
        return True
    return resolver.task_type == 'worker' and resolver.task_id == 0 and \
        'chief' not in resolver.cluster_spec().as_dict()


def per_replica(strategy, *global_batches):
    """Each global batch [B, ...] as per-replica slices: replica r gets rows r * B / n to (r + 1) * B / n."""
    n = strategy.num_replicas_in_sync

    def split(batch):
        size = len(batch) // n
        return strategy.experimental_distribute_values_from_function(
            lambda context: batch[context.replica_id_in_sync_group * size:(context.replica_id_in_sync_group + 1) * size])

    return [split(batch) for batch in global_batches]


def distributed_step(strategy, model, loss_fn):
    """A tf.function: one optimizer step of `model` on every replica's slice of the batch (see
    per_replica), minimising the sum of loss_fn's terms; it returns each term summed over replicas."""
    def replica_step(*batch):
        with tf.GradientTape() as tape:
            terms = loss_fn(*batch)
            loss = tf.add_n(list(terms)) if isinstance(terms, tuple) else terms
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return terms

    @tf.function
    def step(*batch):
        terms = strategy.run(replica_step, args=batch)
        return tf.nest.map_structure(lambda term: strategy.reduce('SUM', term, axis=None), terms)

    return step


def any_worker(strategy, *flags):
    """Each flag made true on every worker if it is true on any of them, so that all workers stop or
    save at the same step (one all-reduce; the flags themselves with a single replica)."""
    if strategy.num_replicas_in_sync == 1:
        return flags
    local = tf.constant([float(flag) for flag in flags])
    agreed = strategy.run(lambda: tf.distribute.get_replica_context().all_reduce('SUM', local))
    return tuple(bool(value > 0) for value in strategy.experimental_local_results(agreed)[0].numpy())


def weights_digest(model):
    """A short hash of all a model's weights: equal on every worker of a synchronous run."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.numpy().tobytes())
    return digest.hexdigest()[:16]


def chief_or_scratch(strategy, folder):
    """`folder` on the chief; elsewhere a scratch folder for writes every worker must make (collective saves)."""
    return folder if is_chief(strategy) else tempfile.mkdtemp(prefix='worker_scratch_')


def remove_scratch(strategy, folder):
    if not is_chief(strategy):
        shutil.rmtree(folder, ignore_errors=True)


def worker_split(num_workers=0, worker_index=0):
    """(number of workers, this worker's index) for a folder job: from the flags, or from TF_CONFIG when
    num_workers is 0 (its chief first, then its workers), else (1, 0)."""
    if num_workers:
        if not 0 <= worker_index < num_workers:
            raise UserError(f'--worker_index={worker_index}: expected 0 to {num_workers - 1} (--num_workers={num_workers})')
        return num_workers, worker_index
    config = json.loads(os.environ.get('TF_CONFIG') or '{}')
    if not config:
        return 1, 0
    cluster, task = config.get('cluster', {}), config.get('task', {})
    tasks = [('chief', i) for i in range(len(cluster.get('chief', [])))] + \
            [('worker', i) for i in range(len(cluster.get('worker', [])))]
    try:
        return len(tasks), tasks.index((task.get('type'), task.get('index')))
    except ValueError:
        raise UserError(f'TF_CONFIG: task {task} is not a chief or worker of its cluster') from None


def share_of(items, num_workers, worker_index, block=1):
    """This worker's share of a list: blocks of `block` consecutive items dealt out to the workers in
    turn. With block = the batch size, each batch a worker recovers is one batch of a single run."""
    return [item for i, item in enumerate(items) if (i // block) % num_workers == worker_index]


def partial_name(name, num_workers, worker_index):
    """'synth_hybrid' -> 'synth_hybrid.worker1of2' (one worker's partial results)."""
    return f'{name}.worker{worker_index}of{num_workers}'


def partial_files(folder, name):
    """The partial results `{name}.worker{k}of{n}.npz` of all n workers, or UserError naming what is missing."""
    found = {}
    for path in glob.glob(os.path.join(glob.escape(folder), f'{glob.escape(name)}.worker*of*.npz')):
        m = re.fullmatch(rf'{re.escape(name)}\.worker(\d+)of(\d+)\.npz', os.path.basename(path))
        if m:
            found[int(m.group(1)), int(m.group(2))] = path
    splits = sorted({n for _, n in found})
    if not splits:
        raise UserError(f'{folder}: no partial results {name}.worker*of*.npz to merge; run every worker first')
    if len(splits) > 1:
        raise UserError(f'{folder}: partial results of {name} from splits into {splits} workers; remove the stale ones')
    n = splits[0]
    missing = [k for k in range(n) if (k, n) not in found]
    if missing:
        raise UserError(f'{folder}: {name} lacks the partial results of worker(s) {missing} of {n}')
    return [found[k, n] for k in range(n)]


def report_share(folder, name, header, measures, seconds, settings, workers=1, index=0):
    """The end of a recovery run: its table by kind of clip; or, for one worker of several, its partial
    measures, which merge_shares turns into the table of the whole run once every worker is done."""
    if workers == 1:
        write_report(folder, name, header, summarize_by_kind(measures), seconds, settings)
        return
    part = partial_name(name, workers, index)
    save_measures(os.path.join(folder, f'{part}.npz'), measures, seconds)
    print(f'worker {index} of {workers}: {len(measures["snr"])} clips; partial results in {folder}/{part}.npz '
          f'(merge them with --merge=True once every worker is done)')


def merge_shares(folder, name, header, settings):
    """The table of a run split across workers, from the partial measures of all of them."""
    paths = partial_files(folder, name)
    measures, seconds = merge_measures(paths)
    write_report(folder, name, {**header, 'workers': len(paths)}, summarize_by_kind(measures), seconds, settings)
