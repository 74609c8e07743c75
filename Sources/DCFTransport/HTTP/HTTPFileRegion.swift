// SPDX-License-Identifier: Apache-2.0
import Glibc

/// An open file and a byte range of it, sent as a response body; the file closes when the last reference goes.
///
/// Plain TCP sends the range with `sendfile`. TLS reads it in chunks with `pread` by default. A region made
/// with `mapsIntoMemory` is instead encrypted straight from a read-only mapping of the range, made once and
/// shared by every connection that sends it.
///
/// Mapping saves one copy per byte, about 3% of the server's CPU in 100 × 13 MB FedAvg rounds. But every
/// page sent then counts in the process's resident size (30 MB more in the same rounds), and the file must
/// not shrink while the region exists. Reading a mapped page past the end of a truncated file raises
/// `SIGBUS`, so before each write from the mapping the server checks the file's size with `fstat` and closes
/// the connection if the range no longer fits. That check narrows the window but cannot close it: a
/// truncation between the check and the write still stops the process. Replacing a file by renaming a new
/// one over it is safe, because the region keeps the old file open.
public final class HTTPFileRegion: @unchecked Sendable {
    // @unchecked Sendable: every stored property is set in init and never changed; the mapping is read-only.
    let fd: Int32
    /// The mapped pages holding the range, or nil when the range is empty or could not be mapped.
    private let mapping: UnsafeMutableRawBufferPointer?
    /// Where the range starts inside `mapping`, which begins at a page boundary.
    private let mappingSkip: Int
    /// The first byte sent.
    public let offset: Int
    /// The number of bytes sent.
    public let length: Int

    /// Opens `path` for reading and sends `length` bytes from `offset`, or to the end of the file when nil.
    ///
    /// - Parameter mapsIntoMemory: whether TLS encrypts the range from a read-only mapping instead of reading
    ///   it with `pread`; see the type's notes on resident size and truncation.
    /// - Throws: `SystemError` when the file cannot be opened or examined, or `EINVAL` when the range
    ///   goes past the end of the file.
    public init(path: String, offset: Int = 0, length: Int? = nil, mapsIntoMemory: Bool = false) throws(SystemError) {
        let fd = try syscall("open") { open(path, O_RDONLY | O_CLOEXEC) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw SystemError(call: "fstat", code: code)
        }
        let size = Int(info.st_size)
        let count = length ?? max(0, size - offset)
        guard offset >= 0, count >= 0, offset + count <= size else {
            close(fd)
            throw SystemError(call: "open", code: EINVAL)
        }
        self.fd = fd
        self.offset = offset
        self.length = count
        (mapping, mappingSkip) = mapsIntoMemory ? Self.map(fd: fd, offset: offset, length: count) : (nil, 0)
    }

    deinit {
        if let mapping { munmap(mapping.baseAddress, mapping.count) }
        close(fd)
    }

    /// Returns the mapped bytes of file positions `range`, or nil when the region is not mapped or the file no
    /// longer covers the whole region.
    func mappedBytes(_ range: Range<Int>) -> UnsafeRawBufferPointer? {
        guard let mapping, range.lowerBound >= offset, range.upperBound <= offset + length else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) >= offset + length else { return nil }
        let start = mappingSkip + range.lowerBound - offset
        return UnsafeRawBufferPointer(rebasing: mapping[start..<start + range.count])
    }

    /// Whether the region was mapped, so TLS sends it without reading it into a buffer first.
    var isMapped: Bool { mapping != nil }

    private static func map(fd: Int32, offset: Int, length: Int) -> (UnsafeMutableRawBufferPointer?, Int) {
        guard length > 0 else { return (nil, 0) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let skip = offset % page
        let address = mmap(nil, skip + length, PROT_READ, MAP_SHARED, fd, off_t(offset - skip))
        guard let address, address != MAP_FAILED else { return (nil, 0) }
        return (UnsafeMutableRawBufferPointer(start: address, count: skip + length), skip)
    }
}
