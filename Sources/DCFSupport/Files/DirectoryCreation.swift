// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// Creation of a directory that a setting names, with the reason for a failure in plain words.
public enum DirectoryCreation {
    /// Creates `directory` and its missing parents unless it exists, flushing the parent of each directory it
    /// creates (`AtomicFile.createDirectory`), so state kept inside survives a power loss.
    ///
    /// - Returns: nil on success, else why the directory could not be created, without a final full stop.
    public static func create(_ directory: URL) -> String? {
        do {
            try AtomicFile.createDirectory(directory.path)
            return nil
        } catch {
            return creationProblem(directory, error)
        }
    }

    /// Returns why `directory` could not be created. A nearest existing parent that is not a directory is named,
    /// because the system reports that case only as "Not a directory" for the path being created.
    private static func creationProblem(_ directory: URL, _ error: SystemCallError) -> String {
        var parent = directory.deletingLastPathComponent()
        for _ in 0..<directory.pathComponents.count {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory) {
                if !isDirectory.boolValue { return "\(parent.path) is not a directory" }
                break
            }
            parent = parent.deletingLastPathComponent()
        }
        return String(cString: strerror(error.errno))
    }
}
