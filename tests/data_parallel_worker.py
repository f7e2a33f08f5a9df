"""One process of the two-process CPU training test (tests/test_data_parallel.py).

Launched by ``torchrun --standalone --nproc-per-node 2``: every process fits
both estimators through ``accelerate.Accelerator(cpu=True)`` (gloo) and records
which samples its training batches held; the main process writes the results
and every process's record to ``OUT/result.npz``.
"""

import sys

import numpy as np
import torch
import torch.distributed as dist
from accelerate import Accelerator
from data_parallel_common import DETECTOR_PARAMS, DMI_PARAMS, make_data
from skorch.callbacks import Callback

from sklearn_noisy import DMIClassifier, MislabelDetector


class BatchIndexLog(Callback):
    """Record the sample indices of every training batch, per epoch."""

    def on_train_begin(self, net, **kwargs):
        self.epochs_ = []

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_.append([])

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.epochs_[-1].append(batch.index.cpu().numpy())


def main(out):
    accelerator = Accelerator(cpu=True)
    X, y = make_data()
    detector = MislabelDetector(
        accelerator=accelerator, callbacks=[("log", BatchIndexLog())], **DETECTOR_PARAMS
    ).fit(X, y)
    log = dict(detector.net_.callbacks_)["log"]
    seen = [np.concatenate(epoch) for epoch in log.epochs_]
    gathered = [None] * accelerator.num_processes
    dist.all_gather_object(gathered, seen)
    classifier = DMIClassifier(accelerator=accelerator, **DMI_PARAMS).fit(X, y)
    if accelerator.is_main_process:
        counts = np.stack(
            [
                np.bincount(
                    np.concatenate([rank[e] for rank in gathered]), minlength=len(y)
                )
                for e in range(len(seen))
            ]
        )
        np.savez(
            f"{out}/result.npz",
            scores=detector.train_scores_,
            counts=counts,
            n_epochs=detector.n_epochs_,
            proba=classifier.predict_proba(X),
            world_size=accelerator.num_processes,
            threads=torch.get_num_threads(),
        )
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(sys.argv[1])
