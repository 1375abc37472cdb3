"""Why the top-k autoencoder's latents die on the MLP activations of the digits
(docs/features.md): the largest pre-activation of dead and of live latents.

    PYTHONPATH=. python docs/dev/scripts/dead_latents_preact.py

Same setup as examples/sae_network_features.py (64 ReLU units, 256 latents, k = 8, the
auxiliary dead-latent loss), 30 epochs.
"""
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

import dictlearn

warnings.simplefilter("ignore")
d = load_digits()
X, y = d.data / 16, d.target
mlp = MLPClassifier((64,), max_iter=300, random_state=0).fit(X[:1300], y[:1300])
A = np.maximum(X @ mlp.coefs_[0] + mlp.intercepts_[0], 0)
A /= np.sqrt(np.mean(np.sum(A ** 2, 1)) / 64)
sae = dictlearn.SparseAutoencoder(256, sparsity="topk", k=8, unit_norm_decoder=True,
                                  learning_rate=3e-3, max_epochs=30, n_iter_no_change=None,
                                  random_state=0, dead_latents="auxk",
                                  dead_after=len(A)).fit(A)
Z = sae.transform(A)
dead = ~(Z != 0).any(0)
p = sae.params_
V = (A - p["b"]) @ p["W"] - p["theta"]  # pre-activations
print(f"dead latents: {dead.sum()} of 256; share with a positive largest pre-activation: "
      f"{np.mean(V[:, dead].max(0) > 0):.2f}; median largest pre-activation "
      f"{np.median(V[:, dead].max(0)):.2f} (live latents: {np.median(V[:, ~dead].max(0)):.2f})")
