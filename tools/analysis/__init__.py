"""What the built-in tools compute with: image and mask reading, mask geometry, response categories."""
