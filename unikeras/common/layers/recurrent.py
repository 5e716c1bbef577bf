"""Recurrent layers: RNN, cells, SimpleRNN/LSTM/GRU, StackedRNNCells, Bidirectional, TimeDistributed, ConvLSTM."""

__all__ = []
