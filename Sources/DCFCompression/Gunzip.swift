// SPDX-License-Identifier: Apache-2.0
public import Foundation

/// An error from inflating gzip data.
public struct GunzipError: Error, CustomStringConvertible, Sendable {
    /// A readable account of what failed and on which input.
    public let description: String

    static func invalid(_ source: String, _ detail: String) -> GunzipError {
        GunzipError(description: "\(source) is not valid gzip data: \(detail)")
    }

    static func truncated(_ source: String) -> GunzipError {
        GunzipError(description: "\(source) ends before the end of its gzip stream; the file is truncated")
    }

    static func tooLarge(_ source: String, limit: Int) -> GunzipError {
        GunzipError(
            description: "\(source) inflates to more than \(limit) bytes; raise the output limit if the data is trusted"
        )
    }

    static func unreadable(_ path: String, _ underlying: any Error) -> GunzipError {
        GunzipError(description: "cannot read \(path): \(underlying.localizedDescription)")
    }
}

/// Inflates whole gzip files or buffers, with a limit on the inflated size.
///
/// Concatenated gzip members are inflated one after another, as the `gunzip` tool does.
public enum Gunzip {
    /// Reads the gzip file at `path` and returns its inflated bytes.
    ///
    /// - Throws: `GunzipError` when the file cannot be read, is not gzip, is truncated, or inflates to more
    ///   than `outputLimit` bytes.
    public static func inflateFile(atPath path: String, outputLimit: Int) throws -> [UInt8] {
        let compressed: Data
        do {
            compressed = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw GunzipError.unreadable(path, error)
        }
        return try inflate(compressed, outputLimit: outputLimit, source: path)
    }

    /// Inflates gzip `data`; `source` names the input in errors.
    ///
    /// - Throws: `GunzipError` when the data is not gzip, is truncated, or inflates to more than `outputLimit` bytes.
    public static func inflate(_ data: Data, outputLimit: Int, source: String = "input") throws -> [UInt8] {
        do {
            let inflated = try Inflater.decompress(
                data, coding: .gzip, maxOutputBytes: outputLimit, allowsConcatenatedMembers: true)
            return [UInt8](inflated)
        } catch let error as CompressionError {
            switch error.code {
            case .truncatedInput: throw GunzipError.truncated(source)
            case .outputLimitExceeded: throw GunzipError.tooLarge(source, limit: outputLimit)
            default: throw GunzipError.invalid(source, error.description)
            }
        }
    }
}
