// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// Creation of a directory that a setting names, with the reason for a failure in plain words.
public enum DirectoryCreation {
    /// Creates `directory` and its missing parents unless it exists.
    ///
    /// - Returns: nil on success, else why the directory could not be created, without a final full stop.
    public static func create(_ directory: URL) -> String? {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return nil
        } catch {
            // Foundation's descriptions end with a full stop, which would stand before the caller's next clause.
            var problem = creationProblem(directory, error)
            if problem.hasSuffix(".") { problem.removeLast() }
            return problem
        }
    }

    /// Returns why `directory` could not be created. A nearest existing parent that is not a directory is named,
    /// because Foundation reports that case only as "The operation could not be completed".
    private static func creationProblem(_ directory: URL, _ error: any Error) -> String {
        var parent = directory.deletingLastPathComponent()
        for _ in 0..<directory.pathComponents.count {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory) {
                return isDirectory.boolValue ? error.localizedDescription : "\(parent.path) is not a directory"
            }
            parent = parent.deletingLastPathComponent()
        }
        return error.localizedDescription
    }
}
