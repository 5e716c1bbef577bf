"""For PyTorch users: a unikeras block (Conv2D, BatchNormalization, Dropout) as a genuine
`torch.nn.Module` inside your own model, trained with a plain PyTorch loop (DataLoader,
torch.optim, `.train()` / `.eval()`) on scikit-learn's digits, then evaluated."""
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import unikeras as uk
from unikeras import layers
from unikeras.adapters.torch_nn import to_torch


def conv_block():
    """Keras-style feature extractor, written once; channels_first to take torch's NCHW."""
    return uk.Sequential([
        layers.Conv2D(32, 3, padding="same", use_bias=False, data_format="channels_first"),
        layers.BatchNormalization(axis=1),
        layers.Activation("relu"),
        layers.MaxPooling2D(2, data_format="channels_first"),
        layers.Dropout(0.2),
    ], name="conv_block")


class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = to_torch(conv_block(), input_shape=(None, 1, 8, 8))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
                                        nn.Linear(64, 10))

    def forward(self, images):
        return self.classifier(self.features(images))


def digits_loaders(batch_size=32):
    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(digits.target, dtype=torch.long)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.25, random_state=0, stratify=labels)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(0))
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=256)
    return train, test


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += len(labels)
    return correct / total


def main():
    torch.manual_seed(0)
    uk.utils.set_random_seed(0)  # the unikeras block's initial weights and dropout
    model = DigitNet()
    train_loader, test_loader = digits_loaders()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    print(f"{sum(p.numel() for p in model.parameters())} parameters; the unikeras block's "
          f"state_dict: {list(model.features.state_dict())}")

    for epoch in range(1, 7):
        model.train()
        running = 0.0
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(labels)
        print(f"epoch {epoch}: train loss {running / len(train_loader.dataset):.4f}")

    print(f"test accuracy: {evaluate(model, test_loader):.4f}")


if __name__ == "__main__":
    main()
