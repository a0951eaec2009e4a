"""Text features: character n-grams within words plus jieba word uni- and bigrams, as TF-IDF.

Chosen by cross-validation on SMP2017, BANKING77 and the shipped intents (see tests/bench/).
The same features serve Chinese and English: jieba passes English words through.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter

import jieba
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

jieba.setLogLevel(logging.WARNING)
WORD_WEIGHT = 0.5
_CJK = re.compile(r"([\u3400-\u9fff]+)")
_TOKEN = re.compile(r"\w+(?:\.\d+)?|[^\w\s]")


def words(text: str) -> list[str]:
    """Words with sentence boundaries: jieba for Chinese runs, a plain split for everything else.

    >>> words("我的order到哪了?")
    ['<s>', '我', '的', 'order', '到', '哪', '了', '?', '</s>']
    """
    tokens = ["<s>"]
    for index, part in enumerate(_CJK.split(text)):
        if part:
            tokens.extend(jieba.lcut(part) if index % 2 else _TOKEN.findall(part))
    tokens.append("</s>")
    return tokens


def make_features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, lowercase=False, dtype=np.float32)),
            ("word", TfidfVectorizer(analyzer="word", tokenizer=words, token_pattern=None, ngram_range=(1, 2),
                                     sublinear_tf=True, lowercase=False, dtype=np.float32)),
        ],
        transformer_weights={"char": 1.0, "word": WORD_WEIGHT},
    )


def refit_rows(features: FeatureUnion, matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """`matrix` (from `features`) as if the features had been fitted on `matrix[rows]` only.

    A cross-validation fold must not see the vocabulary of the messages it is tested on: n-grams
    only those messages have would dilute their vectors (each block is l2-normalised), so fold
    models would be less confident on them than the final model is on new messages, and a
    threshold chosen on them would be too low. Refitting the vectorizers per fold costs as much as
    the features themselves; this gives the same numbers from the fitted matrix instead: columns
    the rows never use are dropped, the idf is recomputed from the rows' document frequencies, and
    each block is normalised again and weighted as before.
    """
    names = [name for name, _ in features.transformer_list]
    vectorizers = [vectorizer for _, vectorizer in features.transformer_list]
    sizes = [len(vectorizer.vocabulary_) for vectorizer in vectorizers]
    block_of = np.repeat(np.arange(len(sizes)), sizes)
    old_idf = np.concatenate([vectorizer.idf_ for vectorizer in vectorizers]).astype(np.float64)
    weights = np.array([(features.transformer_weights or {}).get(name, 1.0) for name in names], dtype=np.float64)
    smooth = np.repeat([int(vectorizer.smooth_idf) for vectorizer in vectorizers], sizes)
    matrix = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    frequency = np.bincount(matrix[rows].indices, minlength=matrix.shape[1])
    used = frequency > 0
    idf = np.zeros(matrix.shape[1])
    idf[used] = np.log((len(rows) + smooth[used]) / (frequency[used] + smooth[used])) + 1.0
    columns_block = block_of[matrix.indices]
    matrix.data *= (idf / old_idf)[matrix.indices]
    squares = sp.csr_matrix((matrix.data**2, matrix.indices, matrix.indptr), shape=matrix.shape)
    norms = np.sqrt(np.asarray((squares @ sp.csr_matrix(np.eye(len(sizes))[block_of])).todense()))
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    divisor = norms[row_of, columns_block]
    matrix.data = np.divide(matrix.data, divisor, out=np.zeros_like(matrix.data), where=divisor > 0) * weights[columns_block]
    matrix.eliminate_zeros()
    return matrix


class LinearScorer:
    """Decision values of a linear model over fitted features, for one message, without sklearn overhead.

    The same numbers as `model.decision_function(features.transform([text]))` (to float precision),
    in a fraction of the time: each block's analyzer, a vocabulary lookup, log-tf x idf, l2 norm, and
    the matching rows of the weights.
    """

    def __init__(self, features: FeatureUnion, coef: np.ndarray, intercept: np.ndarray) -> None:
        weights = coef.T.astype(np.float64)
        if weights.shape[1] == 1:  # a binary model scores one class against the other
            weights = np.hstack([-weights, weights])
            intercept = np.array([-intercept[0], intercept[0]])
        self.intercept = intercept.astype(np.float64)
        self.blocks = []
        offset = 0
        for name, vectorizer in features.transformer_list:
            size = len(vectorizer.vocabulary_)
            scale = features.transformer_weights.get(name, 1.0)
            block = np.ascontiguousarray(weights[offset:offset + size]) * scale
            self.blocks.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_.astype(np.float64), block))
            offset += size

    def decision(self, text: str) -> np.ndarray:
        scores = self.intercept.copy()
        for analyze, vocabulary, idf, block in self.blocks:
            counts = Counter(i for i in map(vocabulary.get, analyze(text)) if i is not None)
            if not counts:
                continue
            index = np.fromiter(counts.keys(), np.intp, len(counts))
            values = (np.log(np.fromiter(counts.values(), np.float64, len(counts))) + 1.0) * idf[index]
            values /= math.sqrt(values @ values)
            scores += values @ block[index]
        return scores
