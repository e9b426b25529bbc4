"""How well a score tells two kinds of clips apart: ROC curve, its area, equal error rate, true positives
at a false-positive rate. Higher scores mean "positive" (a fake)."""
import numpy as np


def roc_curve(negatives, positives):
    """(false-positive rates, true-positive rates), from the strictest threshold to the loosest, one point
    per distinct score (ties move both rates at once)."""
    scores = np.concatenate([negatives, positives]).astype(np.float64)
    labels = np.concatenate([np.zeros(len(negatives)), np.ones(len(positives))])
    order = np.argsort(-scores, kind='stable')
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp, fp = np.cumsum(labels)[last_of_tie], np.cumsum(1 - labels)[last_of_tie]
    return (np.r_[0.0, fp / max(len(negatives), 1)], np.r_[0.0, tp / max(len(positives), 1)])


def roc_auc(negatives, positives):
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties count half)."""
    fpr, tpr = roc_curve(negatives, positives)
    return float(np.trapezoid(tpr, fpr))


def equal_error_rate(negatives, positives):
    """The error rate where false positives and false negatives are equal (interpolated on the ROC curve)."""
    fpr, tpr = roc_curve(negatives, positives)
    fnr = 1 - tpr
    i = int(np.flatnonzero(fnr <= fpr)[0])  # the curve ends at fpr = 1, fnr = 0, so one exists
    if i == 0:
        return 0.0
    # between points i-1 and i, fpr - fnr changes sign: where it is zero
    a, b = fpr[i - 1] - fnr[i - 1], fpr[i] - fnr[i]
    t = a / (a - b) if a != b else 0.0
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def tpr_at_fpr(negatives, positives, fpr_limit=0.01):
    """The share of positives caught by the loosest threshold that passes at most fpr_limit of negatives."""
    fpr, tpr = roc_curve(negatives, positives)
    return float(tpr[fpr <= fpr_limit + 1e-12].max())
