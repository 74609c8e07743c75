// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A model file format other than safetensors, recognised by its first bytes. The error for such a file names
/// the format and the function that saves the tensors as safetensors.
enum ForeignModelFormat {
    /// Returns a sentence naming the format that `bytes` starts with and the function to save with, or nil
    /// when the first bytes match none of the formats below.
    static func hint(for bytes: Data) -> String? {
        let head = [UInt8](bytes.prefix(8))
        func starts(with signature: [UInt8]) -> Bool { head.starts(with: signature) }

        let format: String
        let save: String
        if starts(with: [0x93] + Array("NUMPY".utf8)) {
            format = "a NumPy .npy file"
            save = "safetensors.numpy.save_file"
        } else if starts(with: Array("PK".utf8) + [3, 4]) {
            format = "a ZIP archive, such as a torch.save file or a NumPy .npz file"
            save = "safetensors.torch.save_file or safetensors.numpy.save_file"
        } else if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) {
            // Pickle protocols 2 to 5 start with the PROTO opcode 0x80 and the protocol number.
            format = "a Python pickle, such as a torch.save file of PyTorch before 1.6"
            save = "safetensors.torch.save_file"
        } else if starts(with: [0x89] + Array("HDF\r\n".utf8) + [0x1a, 0x0a]) {
            format = "an HDF5 file, such as a Keras .h5 model"
            save = "safetensors.numpy.save_file or safetensors.tensorflow.save_file"
        } else if starts(with: [0x1f, 0x8b]) {
            format = "a gzip file"
            save = "safetensors.numpy.save_file, without compressing the file"
        } else {
            return nil
        }
        return "The file starts like \(format), not safetensors: save the state_dict's tensors with \(save)."
    }
}
