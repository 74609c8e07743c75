// SPDX-License-Identifier: Apache-2.0
internal import Foundation

/// The decoded JSON header of a safetensors file, before its layout is checked.
struct SafeTensorsHeader: Decodable {
    /// One tensor entry as written, in no particular order.
    struct Entry {
        let name: String
        let dtype: TensorDType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    static let metadataKey = "__metadata__"

    var entries: [Entry] = []
    var metadata: [String: String] = [:]

    /// Decodes `bytes` as the header JSON, mapping JSON failures to `SafeTensorsError.invalidHeader`.
    static func decode(_ bytes: Data) throws -> SafeTensorsHeader {
        do {
            return try JSONDecoder().decode(SafeTensorsHeader.self, from: bytes)
        } catch let error as SafeTensorsError {
            throw error
        } catch DecodingError.typeMismatch {
            throw SafeTensorsError.invalidHeader("the JSON value is not an object")
        } catch DecodingError.valueNotFound(_, let context) where context.codingPath.isEmpty {
            throw SafeTensorsError.invalidHeader("the JSON value is null, not an object")
        } catch {
            throw SafeTensorsError.invalidHeader("not valid UTF-8 JSON: \(jsonProblem(in: bytes))")
        }
    }

    /// Returns where `bytes` stop being JSON, as Foundation's parser reports it ("Invalid value around character
    /// 12"), because the decoder's own error names no position.
    private static func jsonProblem(in bytes: Data) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: bytes, options: [.fragmentsAllowed])
        } catch {
            if let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String, !detail.isEmpty {
                return detail.hasSuffix(".") ? String(detail.dropLast()) : detail
            }
        }
        return "the JSON decoder rejected it"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: NameKey.self)
        for key in container.allKeys {
            if key.stringValue == Self.metadataKey {
                metadata = try Self.decodeMetadata(container, key)
            } else {
                entries.append(try Self.decodeEntry(container, key))
            }
        }
    }

    private static func decodeMetadata(_ container: KeyedDecodingContainer<NameKey>, _ key: NameKey) throws
        -> [String: String]
    {
        if try container.decodeNil(forKey: key) { return [:] }
        guard let object = try? container.nestedContainer(keyedBy: NameKey.self, forKey: key) else {
            throw SafeTensorsError.invalidMetadata("the value is not a JSON object")
        }
        var metadata: [String: String] = [:]
        for field in object.allKeys {
            guard let value = try? object.decode(String.self, forKey: field) else {
                throw SafeTensorsError.invalidMetadata("the value of \"\(field.stringValue)\" is not a string")
            }
            metadata[field.stringValue] = value
        }
        return metadata
    }

    private static func decodeEntry(_ container: KeyedDecodingContainer<NameKey>, _ key: NameKey) throws -> Entry {
        let name = key.stringValue
        guard let object = try? container.nestedContainer(keyedBy: EntryKey.self, forKey: key) else {
            throw SafeTensorsError.invalidTensorEntry(name, "the value is not a JSON object")
        }
        let dtypeName = try field(String.self, .dtype, in: object, tensor: name, expected: "a string")
        let shape = try field([Int].self, .shape, in: object, tensor: name, expected: "an array of integers")
        let offsets = try field([Int].self, .dataOffsets, in: object, tensor: name, expected: "an array of integers")
        guard let dtype = TensorDType(rawValue: dtypeName) else {
            throw SafeTensorsError.unknownDType(name, dtypeName)
        }
        guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
            throw SafeTensorsError.invalidOffsets(name, offsets)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    private static func field<Value: Decodable>(
        _ type: Value.Type, _ key: EntryKey, in object: KeyedDecodingContainer<EntryKey>, tensor: String,
        expected: String
    ) throws -> Value {
        guard object.contains(key) else {
            throw SafeTensorsError.invalidTensorEntry(tensor, "\"\(key.stringValue)\" is missing")
        }
        guard let value = try? object.decode(type, forKey: key) else {
            throw SafeTensorsError.invalidTensorEntry(tensor, "\"\(key.stringValue)\" is not \(expected)")
        }
        return value
    }
}

/// A JSON object key that is a tensor name or a metadata key.
struct NameKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The fields of a tensor entry.
enum EntryKey: String, CodingKey {
    case dtype
    case shape
    case dataOffsets = "data_offsets"
}
